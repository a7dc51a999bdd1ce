package observe

import (
	"slices"
	"strconv"
	"testing"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// TestInteropDeb13MLDSACapability captures (tcpdump on lo) OpenSSL 3.5
// clients of the Debian 13 tree and checks what observe reads from their
// ClientHellos: curl 8.14 with its defaults offers mldsa44/65/87 (ml-dsa),
// s_client -sigalgs without ML-DSA is classical, and curl --tls-max 1.2 is
// flagged tls12_only.
func TestInteropDeb13MLDSACapability(t *testing.T) {
	testpeer.Require(t, testpeer.PeerTcpdump)
	d := testpeer.Deb13(t)
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})
	sCurl := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: cert})
	sClassical := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: cert})
	sTLS12 := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: cert})
	ports := []int{sCurl.Port, sClassical.Port, sTLS12.Port}
	capture := testpeer.Capture(t, testpeer.CaptureOptions{Filter: "tcp and (port " + strconv.Itoa(ports[0]) + " or port " + strconv.Itoa(ports[1]) + " or port " + strconv.Itoa(ports[2]) + ")"})
	if _, err := d.Curl(t, "https://localhost:"+strconv.Itoa(sCurl.Port)+"/", "", ca); err != nil {
		t.Fatalf("curl: %v", err)
	}
	if _, err := d.OpenSSLClient(t, sClassical.Addr, "", ca, "-sigalgs", "ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256"); err != nil {
		t.Fatalf("s_client -sigalgs: %v", err)
	}
	// The server is TLS 1.3 only: the handshake fails, the ClientHello is
	// on the wire all the same.
	_, _ = d.Run("/usr/bin/curl", "-sS", "--max-time", "10", "--tls-max", "1.2", "--cacert", ca.WriteCertFile(t, d.TempDir(t)), "https://localhost:"+strconv.Itoa(sTLS12.Port)+"/")
	if _, err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	flows, _ := analyzeFile(t, capture.Path)
	for i, want := range []string{AuthCapMLDSA, AuthCapClassical, AuthCapTLS12Only} {
		fs := flowsByPort(flows, ports[i])
		if len(fs) != 1 {
			t.Errorf("%s: %d flows, want 1", want, len(fs))
			continue
		}
		f := fs[0]
		mldsa := slices.Contains(f.OfferedSignatureAlgorithms, "mldsa44") && slices.Contains(f.OfferedSignatureAlgorithms, "mldsa65") && slices.Contains(f.OfferedSignatureAlgorithms, "mldsa87")
		if f.AuthCapability != want || mldsa != (want == AuthCapMLDSA) {
			t.Errorf("port %d: auth_capability %q, sigalgs %v; want %s", ports[i], f.AuthCapability, f.OfferedSignatureAlgorithms, want)
		}
		t.Logf("%s: %v", f.AuthCapability, f.OfferedSignatureAlgorithms)
	}
}
