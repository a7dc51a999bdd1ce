package bench

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// TestInteropHAProxyMTLSRefusal: HAProxy (OpenSSL) with 'verify required'
// refuses a client without a certificate after the TLS 1.3 handshake
// completed on the client side; pqtls bench counts those as errors.
func TestInteropHAProxyMTLSRefusal(t *testing.T) {
	testpeer.Require(t, testpeer.PeerHAProxy)
	clientCA := testpki.NewCA(t)
	h := testpeer.HAProxy(t, testpeer.HAProxyOptions{ClientCA: clientCA, MinVersion: "TLSv1.3"})
	cfg := &tls.Config{RootCAs: h.CA.Pool(), ServerName: "localhost"}
	res, err := Run(context.Background(), Options{Target: h.Addr, TLS: cfg, Concurrency: 1, Count: 3, Duration: time.Second})
	if err == nil || res.Operations != 0 || res.Errors == 0 {
		t.Fatalf("HAProxy verify required, no client certificate: %d operations, errors %v, err %v", res.Operations, res.ErrorReasons, err)
	}
	t.Logf("refused: %v (%s)", res.ErrorReasons, res.FirstError)
	// With a certificate from the client CA every handshake counts.
	ok := clientCA.ClientTLS("localhost", clientCA.Client(t, testpki.CertOptions{}))
	ok.RootCAs = h.CA.Pool()
	res, err = Run(context.Background(), Options{Target: h.Addr, TLS: ok, Concurrency: 1, Count: 3, Duration: 30 * time.Second})
	if err != nil || res.Operations != 3 || res.Errors != 0 {
		t.Fatalf("with a client certificate: %+v %v", res, err)
	}
}
