//go:build go1.27

package tunnel

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/testpki"
)

// mldsaServer issues a localhost server certificate of key type kt from a
// CA of the same type and writes it into a temp dir.
func mldsaServer(t *testing.T, kt devpki.KeyType) (*testpki.CA, testpki.Files) {
	t.Helper()
	ca := testpki.NewCA(t, testpki.KeyType(kt))
	return ca, ca.Server(t, testpki.CertOptions{Key: testpki.KeyType(kt)}).WriteFiles(t, t.TempDir())
}

// A server tunnel with auth prefer-pq and two certificates (ECDSA listed
// first, ML-DSA-65 second) presents the ML-DSA chain to a client that
// offers ML-DSA, and the ECDSA one to a TLS 1.2 client; the metric and the
// connection log say which.
func TestTunnelAuthPreferPQTwoCerts(t *testing.T) {
	ecCA := testpki.NewCA(t)
	ecFiles := ecCA.Server(t, testpki.CertOptions{}).WriteFiles(t, t.TempDir())
	mlCA, mlFiles := mldsaServer(t, devpki.MLDSA65)
	tu, reg, logs := startJSON(t, Config{Listeners: []ListenerConfig{{Name: "pq-in", Mode: ModeServer, Listen: "127.0.0.1:0", Target: echoServer(t),
		Cert: ecFiles.Cert, Key: ecFiles.Key, ExtraCerts: []CertPair{{Cert: mlFiles.Cert, Key: mlFiles.Key}}, Auth: "Prefer-PQ", MinVersion: "1.2"}}})
	addr := tu.Listeners()[0].Addr().String()
	roots := x509.NewCertPool()
	roots.AddCert(ecCA.Cert)
	roots.AddCert(mlCA.Cert)
	for _, c := range []struct {
		max  uint16
		want x509.PublicKeyAlgorithm
	}{{tls.VersionTLS13, x509.MLDSA}, {tls.VersionTLS12, x509.ECDSA}} {
		conn, err := dialTLS(addr, &tls.Config{RootCAs: roots, ServerName: "localhost", MaxVersion: c.max})
		if err != nil {
			t.Fatalf("max %s: %v", pqtls.VersionName(c.max), err)
		}
		if _, err := roundTrip(conn, "x"); err != nil {
			t.Fatal(err)
		}
		if got := conn.ConnectionState().PeerCertificates[0].PublicKeyAlgorithm; got != c.want {
			t.Errorf("max %s: leaf key %v, want %v", pqtls.VersionName(c.max), got, c.want)
		}
		conn.Close()
	}
	waitFor(t, "two connection log lines", func() bool { return strings.Count(logs.String(), ConnectionLogMessage) == 2 })
	for _, kind := range []string{pqtls.AuthKindMLDSA, pqtls.AuthKindClassical} {
		if got := metricValue(t, reg, pqtls.MetricAuthTotal, map[string]string{"role": "server", "kind": kind}); got != 1 {
			t.Errorf("tls_handshake_auth_total{kind=%s,role=server} = %v, want 1", kind, got)
		}
	}
	if !strings.Contains(logs.String(), `"auth":"ml-dsa"`) || !strings.Contains(logs.String(), `"auth":"classical"`) || !strings.Contains(logs.String(), `"cipher":"TLS_AES_128_GCM_SHA256"`) {
		t.Errorf("connection log lines lack auth/cipher:\n%s", logs.String())
	}
}

// Client tunnels: require-pq refuses an ECDSA server (the log line and
// tls_handshake_errors_total carry the reason of the same error); cnsa2
// refuses an ML-DSA-65 server naming the ML-DSA-87 chain it lacks, and
// accepts an ML-DSA-87 server, reporting the negotiated suite.
func TestTunnelAuthClientRefusals(t *testing.T) {
	ecCA := testpki.NewCA(t)
	ecFiles := ecCA.Server(t, testpki.CertOptions{}).WriteFiles(t, t.TempDir())
	ml65CA, ml65Files := mldsaServer(t, devpki.MLDSA65)
	ml87CA, ml87Files := mldsaServer(t, devpki.MLDSA87)
	backend := echoServer(t)
	srv, _ := startTunnel(t, Config{Listeners: []ListenerConfig{
		{Name: "ec", Mode: ModeServer, Listen: "127.0.0.1:0", Target: backend, Cert: ecFiles.Cert, Key: ecFiles.Key},
		{Name: "ml65", Mode: ModeServer, Listen: "127.0.0.1:0", Target: backend, Cert: ml65Files.Cert, Key: ml65Files.Key},
		{Name: "ml87", Mode: ModeServer, Listen: "127.0.0.1:0", Target: backend, Cert: ml87Files.Cert, Key: ml87Files.Key, Auth: "cnsa2"},
	}})
	caFile := func(ca *testpki.CA) string { return ca.WriteCertFile(t, t.TempDir()) }
	cl, reg, logs := startJSON(t, Config{Listeners: []ListenerConfig{
		{Name: "need-pq", Mode: ModeClient, Listen: "127.0.0.1:0", Target: srv.Listeners()[0].Addr().String(), ServerName: "localhost", CA: caFile(ecCA), Auth: "require-pq"},
		{Name: "cnsa2-65", Mode: ModeClient, Listen: "127.0.0.1:0", Target: srv.Listeners()[1].Addr().String(), ServerName: "localhost", CA: caFile(ml65CA), Auth: "CNSA2"},
		{Name: "cnsa2-87", Mode: ModeClient, Listen: "127.0.0.1:0", Target: srv.Listeners()[2].Addr().String(), ServerName: "localhost", CA: caFile(ml87CA), Auth: "cnsa2"},
	}})
	echo := func(i int) error {
		c, err := net.Dial("tcp", cl.Listeners()[i].Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = roundTrip(c, "ping")
		return err
	}
	for i := range 2 {
		if err := echo(i); err == nil {
			t.Errorf("listener %d: refused handshake still carried data", i)
		}
	}
	if err := echo(2); err != nil {
		t.Fatalf("cnsa2 to an ML-DSA-87 cnsa2 server: %v", err)
	}
	waitFor(t, "three connection log lines", func() bool { return strings.Count(logs.String(), ConnectionLogMessage) == 3 })
	out := logs.String()
	for _, want := range []string{
		`"close_reason":"handshake_policy_classical_auth"`,
		"auth policy require-pq needs an ML-DSA-signed certificate chain, the peer has leaf key ECDSA",
		"auth policy cnsa2 needs an ML-DSA-87 certificate chain, the peer has leaf key ML-DSA",
		`"group":"SecP384r1MLKEM1024"`, `"auth":"ml-dsa"`, `"cipher":"TLS_`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("client log lacks %q:\n%s", want, out)
		}
	}
	if got := metricValue(t, reg, pqtls.MetricErrorsTotal, map[string]string{"role": "client", "reason": pqtls.ReasonPolicyClassicalAuth}); got != 2 {
		t.Errorf("refusals counted as policy_classical_auth: %v, want 2", got)
	}
	if got := metricValue(t, reg, pqtls.MetricAuthTotal, map[string]string{"role": "client", "kind": pqtls.AuthKindMLDSA}); got != 1 {
		t.Errorf("ml-dsa handshakes counted: %v, want 1", got)
	}
}
