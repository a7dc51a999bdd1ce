//go:build go1.27

package observe

import (
	"slices"
	"testing"
)

// A Go 1.27 client offers mldsa44/65/87 (0x0904-0x0906) in
// signature_algorithms: its flow is ml-dsa capable.
func TestAuthCapabilityGo127Client(t *testing.T) {
	srv, cli := certs(t)
	f := oneFlow(t, first(analyze(t, capture(t, segments(transcript(t, srv, cli, 10), 1448), 0), Options{})))
	for _, s := range []string{"mldsa44", "mldsa65", "mldsa87"} {
		if !slices.Contains(f.OfferedSignatureAlgorithms, s) {
			t.Errorf("offered_signature_algorithms %v lacks %s", f.OfferedSignatureAlgorithms, s)
		}
	}
	if f.AuthCapability != AuthCapMLDSA {
		t.Errorf("auth_capability %q, want %q", f.AuthCapability, AuthCapMLDSA)
	}
}
