//go:build go1.27

package pqtls_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// mldsaCert issues a localhost server certificate of key type kt from a CA
// of the same type (an ML-DSA chain end to end).
func mldsaCert(t *testing.T, kt devpki.KeyType) *testpki.Cert {
	t.Helper()
	ca := testpki.NewCA(t, testpki.KeyType(kt))
	return ca.Server(t, testpki.CertOptions{Key: testpki.KeyType(kt)})
}

// authClient is a pqtls client configuration with the auth mode, trusting ca.
func authClient(t *testing.T, auth pqtls.AuthMode, ca *testpki.CA) *pqtls.Dialer {
	t.Helper()
	cfg, err := pqtls.ClientConfig(pqtls.Options{Policy: pqtls.Policy{Auth: auth}, Base: &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	return &pqtls.Dialer{Config: cfg, HandshakeTimeout: 10 * time.Second, NoDiagnose: true}
}

// get sends one HTTP/1.0 request over a pqtls Dialer connection and
// returns the connection state and the response.
func get(t *testing.T, d *pqtls.Dialer, addr string) (tls.ConnectionState, string, error) {
	t.Helper()
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"); err != nil {
		return tls.ConnectionState{}, "", err
	}
	b, err := io.ReadAll(c)
	return c.(*tls.Conn).ConnectionState(), string(b), err
}

// TestInteropDeb13MLDSALibraryOpenSSL: the library client (auth require-pq,
// then cnsa2) against `openssl s_server` (OpenSSL 3.5) serving ML-DSA-65
// and ML-DSA-87 chains made by Go 1.27; a cnsa2 client against a
// classical-certificate server and against a server without ML-KEM-1024 is
// refused with an *AuthPolicyError naming the part the server lacks.
func TestInteropDeb13MLDSALibraryOpenSSL(t *testing.T) {
	d := testpeer.Deb13(t)
	for _, c := range []struct {
		kt     devpki.KeyType
		auth   pqtls.AuthMode
		groups string
		group  tls.CurveID
		sig    x509.SignatureAlgorithm
	}{
		{devpki.MLDSA65, pqtls.AuthRequirePQ, "", tls.X25519MLKEM768, x509.MLDSA65},
		{devpki.MLDSA87, pqtls.AuthCNSA2, "MLKEM1024", tls.MLKEM1024, x509.MLDSA87},
		{devpki.MLDSA87, pqtls.AuthCNSA2, "SecP384r1MLKEM1024", tls.SecP384r1MLKEM1024, x509.MLDSA87},
	} {
		s := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: mldsaCert(t, c.kt), Groups: c.groups})
		cs, body, err := get(t, authClient(t, c.auth, s.CA), s.Addr)
		if err != nil || !strings.HasPrefix(body, "HTTP/1.0 200 ok") {
			t.Fatalf("%s vs s_server %s: %v %.80q", c.auth, c.kt, err, body)
		}
		if cs.CurveID != c.group || cs.PeerCertificates[0].SignatureAlgorithm != c.sig || cs.PeerCertificates[0].PublicKeyAlgorithm != x509.MLDSA {
			t.Errorf("%s vs s_server %s: group %s, leaf signed %v", c.auth, c.kt, pqtls.GroupName(cs.CurveID), cs.PeerCertificates[0].SignatureAlgorithm)
		}
		t.Logf("%s vs s_server %s: %s, %s, leaf %v", c.auth, c.kt, pqtls.GroupName(cs.CurveID), tls.CipherSuiteName(cs.CipherSuite), cs.PeerCertificates[0].SignatureAlgorithm)
	}

	// cnsa2 refusals, each naming the missing part.
	ecdsa := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Groups: "MLKEM1024"})
	ml87 := mldsaCert(t, devpki.MLDSA87)
	noKEM := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: ml87, Groups: "X25519MLKEM768:X25519"})
	for _, c := range []struct {
		name, addr, want string
		ca               *testpki.CA
	}{
		{"classical certificate", ecdsa.Addr, "needs an ML-DSA-87 certificate chain, the peer has leaf key ECDSA", ecdsa.CA},
		{"no ML-KEM-1024 group", noKEM.Addr, "needs ML-KEM-1024 key exchange (MLKEM1024, or SecP384r1MLKEM1024 as the transitional option), the peer has no group in common", ml87.CA},
	} {
		_, _, err := get(t, authClient(t, pqtls.AuthCNSA2, c.ca), c.addr)
		var aerr *pqtls.AuthPolicyError
		if !errors.As(err, &aerr) || !strings.Contains(err.Error(), c.want) || pqtls.ErrorReason(err) != pqtls.ReasonPolicyClassicalAuth {
			t.Errorf("cnsa2 vs %s: %v, want an AuthPolicyError containing %q", c.name, err, c.want)
		}
		t.Logf("cnsa2 vs %s: %v", c.name, err)
	}
}

// TestInteropDeb13MLDSALibraryNginx: the library client with auth
// require-pq fetches a page from nginx 1.26 (OpenSSL 3.5) serving an
// ML-DSA-65 chain; nginx logs the hybrid group it negotiated.
func TestInteropDeb13MLDSALibraryNginx(t *testing.T) {
	d := testpeer.Deb13(t)
	n := d.Nginx(t, testpeer.NginxOptions{Cert: mldsaCert(t, devpki.MLDSA65)})
	body, st, err := dialerGet(authClient(t, pqtls.AuthRequirePQ, n.CA), "https://"+n.Addr+"/")
	if err != nil {
		t.Fatalf("require-pq against nginx with an ML-DSA-65 chain: %v", err)
	}
	if body != "hello from nginx\n" || st.PeerCertificates[0].SignatureAlgorithm != x509.MLDSA65 || st.CurveID != tls.X25519MLKEM768 {
		t.Errorf("nginx: %q, leaf signed %v, group %s", body, st.PeerCertificates[0].SignatureAlgorithm, pqtls.GroupName(st.CurveID))
	}
	// The same client refuses nginx with a classical chain.
	classical := d.Nginx(t, testpeer.NginxOptions{})
	if _, _, err := get(t, authClient(t, pqtls.AuthRequirePQ, classical.CA), classical.Addr); !pqtls.RefusedByPolicy(err) || !strings.Contains(err.Error(), "ML-DSA-signed certificate chain") {
		t.Errorf("require-pq vs nginx with an ECDSA chain: %v", err)
	}
}

// TestInteropNodeMLDSALibrary: Node.js 26 (OpenSSL 3.5) serves an ML-DSA-65
// chain made by Go 1.27; the library client with auth require-pq verifies
// it and completes the handshake over X25519MLKEM768.
func TestInteropNodeMLDSALibrary(t *testing.T) {
	s := testpeer.NodeServer(t, testpeer.NodeServerOptions{Cert: mldsaCert(t, devpki.MLDSA65), Response: "hello from node\n"})
	c, err := authClient(t, pqtls.AuthRequirePQ, s.CA).Dial("tcp", s.Addr)
	if err != nil {
		t.Fatalf("require-pq vs Node 26 with an ML-DSA-65 chain: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 64)
	n, _ := io.ReadAtLeast(c, b, len("hello from node\n"))
	cs := c.(*tls.Conn).ConnectionState()
	if string(b[:n]) != "hello from node\n" || cs.PeerCertificates[0].SignatureAlgorithm != x509.MLDSA65 || cs.CurveID != tls.X25519MLKEM768 {
		t.Errorf("Node: %q, leaf signed %v, group %s", b[:n], cs.PeerCertificates[0].SignatureAlgorithm, pqtls.GroupName(cs.CurveID))
	}
	if ev := s.Next(t); ev.Event != "handshake" || ev.Group != "X25519MLKEM768" {
		t.Errorf("Node saw %+v", ev)
	}
}

// TestInteropDeb13MLDSALibraryServer: a pqtls.ServerConfig server with
// auth cnsa2 and an ML-DSA-87 chain, against OpenSSL 3.5 s_client: with
// -groups MLKEM1024 s_client completes (its own output names mldsa87 and
// MLKEM1024); with X25519MLKEM768 only it gets a handshake_failure alert and
// the server's error names the ML-KEM-1024 key exchange the client lacks.
func TestInteropDeb13MLDSALibraryServer(t *testing.T) {
	d := testpeer.Deb13(t)
	cert := mldsaCert(t, devpki.MLDSA87)
	cfg, err := pqtls.ServerConfig(pqtls.Options{Policy: pqtls.Policy{Auth: pqtls.AuthCNSA2}, Base: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	testpeer.Serve(t, ln, 0, func(c net.Conn) { errs <- c.(*tls.Conn).Handshake() })
	caFile := cert.CA.WriteCertFile(t, d.TempDir(t))
	sClient := func(groups string) string {
		ctx, cancel := context.WithTimeout(context.Background(), testpeer.RunTimeout)
		defer cancel()
		argv := d.Command("/usr/bin/openssl", "s_client", "-connect", ln.Addr().String(), "-servername", "localhost", "-CAfile", caFile, "-verify_return_error", "-brief", "-groups", groups)
		out, _ := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
		return string(out)
	}
	out := sClient("MLKEM1024")
	if !strings.Contains(out, "Signature type: mldsa87") || !strings.Contains(out, "Negotiated TLS1.3 group: MLKEM1024") || !strings.Contains(out, "Verification: OK") {
		t.Errorf("s_client -groups MLKEM1024 vs cnsa2 server:\n%s", out)
	}
	if err := <-errs; err != nil {
		t.Errorf("server side of the MLKEM1024 handshake: %v", err)
	}
	out = sClient("X25519MLKEM768")
	serr := <-errs
	var aerr *pqtls.AuthPolicyError
	if strings.Contains(out, "CONNECTION ESTABLISHED") || !strings.Contains(out, "handshake failure") || !errors.As(serr, &aerr) || !strings.Contains(serr.Error(), "needs ML-KEM-1024 key exchange") {
		t.Errorf("s_client -groups X25519MLKEM768 vs cnsa2 server: server %v\n%s", serr, out)
	}
}
