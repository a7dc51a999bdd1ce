//go:build go1.27

package scan

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/pqtls/pqtls/devpki"
)

// TestScanMLDSAGoServer (Go 1.27): a crypto/tls server with an ECDSA
// certificate first and an ML-DSA-87 one second, preferring MLKEM1024 (so
// the ML-DSA probe goes through a HelloRetryRequest to pure ML-KEM-1024):
// the default client gets the ECDSA certificate, the probe the ML-DSA-87
// leaf, and the endpoint is CNSA 2.0 ready.
func TestScanMLDSAGoServer(t *testing.T) {
	ca, err := devpki.NewCA("scan ML-DSA-87 CA", devpki.MLDSA87)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(devpki.Request{CommonName: "localhost", Hosts: []string{"localhost", "127.0.0.1"}, Server: true, KeyType: devpki.MLDSA87})
	if err != nil {
		t.Fatal(err)
	}
	ec := newTestCert(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{ec.tls, leaf.TLS()}, CurvePreferences: []tls.CurveID{tls.MLKEM1024, tls.X25519MLKEM768, tls.X25519}}
	addr := listen(t, func(c net.Conn) {
		defer c.Close()
		tc := tls.Server(c, cfg)
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		tc.Handshake()
	})
	r, err := ScanOne(context.Background(), target(t, addr), Options{Enumerate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := algPairs(r.Certificates); !slices.Equal(got, [][2]string{{"ECDSA P-256", "ECDSA-SHA256"}}) {
		t.Errorf("default client's chain %v, want the ECDSA certificate (listed first)", got)
	}
	a := r.MLDSA
	if a == nil || a.Capable == nil || !*a.Capable || len(a.Chains) != 1 || a.Chains[0].Scheme != "mldsa87" ||
		!slices.Equal(algPairs(a.Chains[0].Certificates), [][2]string{{"ML-DSA-87", "ML-DSA-87"}}) {
		t.Fatalf("ml_dsa_auth %+v", a)
	}
	if r.CNSA2.Verdict != CNSA2Ready || !slices.Equal(r.CNSA2.KeyExchange, []string{"MLKEM1024"}) {
		t.Errorf("cnsa2 %+v, want ready with MLKEM1024", r.CNSA2)
	}
}
