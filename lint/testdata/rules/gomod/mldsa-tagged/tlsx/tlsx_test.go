package tlsx

import (
	"crypto/tls"
	"testing"
)

func TestScheme(t *testing.T) {
	if tls.MLDSA65 == 0 {
		t.Fatal("no scheme")
	}
}
