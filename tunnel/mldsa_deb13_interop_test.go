//go:build go1.27

package tunnel

import (
	"context"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// debRun runs a program of the Debian 13 tree (stdin empty, deadline
// testpeer.RunTimeout) and returns its combined output.
func debRun(t *testing.T, d *testpeer.Debian13, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testpeer.RunTimeout)
	defer cancel()
	argv := d.Command(bin, args...)
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	return string(out), err
}

// sClient runs `openssl s_client -brief` against addr trusting caFile,
// with extra arguments, and returns its output.
func sClient(t *testing.T, d *testpeer.Debian13, addr, caFile string, extra ...string) string {
	t.Helper()
	args := append([]string{"s_client", "-connect", addr, "-servername", "localhost", "-CAfile", caFile, "-verify_return_error", "-brief"}, extra...)
	out, _ := debRun(t, d, "/usr/bin/openssl", args...)
	return out
}

var reSigType = regexp.MustCompile(`(?m)^(?:Peer )?[Ss]ignature type: (\S+)`)

// TestInteropDeb13MLDSATunnelServer: a pqtls server tunnel serving an
// ML-DSA-65 chain (and an ECDSA one, auth prefer-pq) to OpenSSL 3.5
// s_client, curl 8.14 and Node 26: each reports the ML-DSA signature; a
// client restricted to ECDSA signatures gets the ECDSA chain, and a
// require-pq tunnel refuses it with the reason counted.
func TestInteropDeb13MLDSATunnelServer(t *testing.T) {
	d := testpeer.Deb13(t)
	mlCA := testpki.NewCA(t, testpki.KeyType(devpki.MLDSA65))
	ml := mlCA.Server(t, testpki.CertOptions{Key: testpki.KeyType(devpki.MLDSA65)})
	mlFiles := ml.WriteFiles(t, d.TempDir(t))
	ecCA := testpki.NewCA(t)
	ecFiles := ecCA.Server(t, testpki.CertOptions{}).WriteFiles(t, d.TempDir(t))
	backend := httpBackend(t, "hello through pqtls\n")
	tu, reg, logs := startJSON(t, Config{Listeners: []ListenerConfig{
		{Name: "prefer", Mode: ModeServer, Listen: "127.0.0.1:0", Target: backend, Auth: "prefer-pq",
			Cert: ecFiles.Cert, Key: ecFiles.Key, ExtraCerts: []CertPair{{Cert: mlFiles.Cert, Key: mlFiles.Key}}},
		{Name: "require", Mode: ModeServer, Listen: "127.0.0.1:0", Target: backend, Auth: "require-pq", Cert: mlFiles.Cert, Key: mlFiles.Key},
	}})
	prefer, require := tu.Listeners()[0].Addr().String(), tu.Listeners()[1].Addr().String()
	mlCAFile, ecCAFile := mlCA.WriteCertFile(t, d.TempDir(t)), ecCA.WriteCertFile(t, d.TempDir(t))

	// s_client with its default signature_algorithms (ML-DSA included).
	out := sClient(t, d, prefer, mlCAFile)
	if m := reSigType.FindStringSubmatch(out); m == nil || m[1] != "mldsa65" || !strings.Contains(out, "Verification: OK") || !strings.Contains(out, "Negotiated TLS1.3 group: X25519MLKEM768") {
		t.Errorf("s_client vs prefer-pq tunnel: want mldsa65, verified, X25519MLKEM768:\n%s", out)
	}
	// s_client offering ECDSA signatures only: the ECDSA chain.
	out = sClient(t, d, prefer, ecCAFile, "-sigalgs", "ecdsa_secp256r1_sha256")
	if m := reSigType.FindStringSubmatch(out); m == nil || m[1] != "ecdsa_secp256r1_sha256" || !strings.Contains(out, "Verification: OK") {
		t.Errorf("s_client -sigalgs ecdsa_secp256r1_sha256 vs prefer-pq tunnel: want the ECDSA chain:\n%s", out)
	}
	// ... and refused by require-pq, with the reason counted and logged.
	out = sClient(t, d, require, mlCAFile, "-sigalgs", "ecdsa_secp256r1_sha256")
	if strings.Contains(out, "CONNECTION ESTABLISHED") || !strings.Contains(out, "handshake failure") {
		t.Errorf("s_client without ML-DSA vs require-pq tunnel: want a handshake_failure alert:\n%s", out)
	}
	// curl 8.14 through the require-pq tunnel: the page, and curl's own
	// summary line naming the ML-DSA-65 signature.
	out, err := debRun(t, d, "/usr/bin/curl", "-sv", "--fail", "--max-time", "20", "--cacert", mlCAFile, "https://localhost:"+portOf(require)+"/")
	if err != nil || !strings.Contains(out, "hello through pqtls\n") || !strings.Contains(out, "SSL connection using TLSv1.3 / ") || !strings.Contains(out, " / X25519MLKEM768 / id-ml-dsa-65") {
		t.Errorf("curl vs require-pq tunnel: %v\n%s", err, out)
	}
	// Node 26 (OpenSSL 3.5) verifies the ML-DSA-65 chain.
	res := testpeer.NodeClient(t, require, testpeer.NodeClientOptions{CA: mlCA, Send: "GET / HTTP/1.0\r\n\r\n"})
	if !res.Connected || !res.Authorized || res.Group != "X25519MLKEM768" || !strings.Contains(res.Response, "HTTP/1.") {
		t.Errorf("Node 26 vs require-pq tunnel: %+v", res)
	}
	waitFor(t, "five connection log lines", func() bool { return strings.Count(logs.String(), ConnectionLogMessage) == 5 })
	if got := metricValue(t, reg, pqtls.MetricErrorsTotal, map[string]string{"role": "server", "reason": pqtls.ReasonPolicyClassicalAuth}); got != 1 {
		t.Errorf("server refusals counted as policy_classical_auth: %v, want 1", got)
	}
	if got := metricValue(t, reg, pqtls.MetricAuthTotal, map[string]string{"role": "server", "kind": pqtls.AuthKindMLDSA}); got != 3 {
		t.Errorf("ml-dsa handshakes (s_client, curl, Node): %v, want 3", got)
	}
	if !strings.Contains(logs.String(), "ML-DSA in signature_algorithms (mldsa44, mldsa65 or mldsa87), the peer has signature_algorithms ecdsa_secp256r1_sha256") {
		t.Errorf("the refusal's log line does not name what the client lacks:\n%s", logs.String())
	}
}

// TestInteropDeb13MLDSATunnelClient: pqtls client tunnels against OpenSSL
// 3.5 s_server: require-pq over an ML-DSA-65 chain, cnsa2 over ML-DSA-87
// with MLKEM1024, and cnsa2 refusing a classical-certificate server with the
// missing part named in the log.
func TestInteropDeb13MLDSATunnelClient(t *testing.T) {
	d := testpeer.Deb13(t)
	issue := func(kt devpki.KeyType) *testpki.Cert {
		return testpki.NewCA(t, testpki.KeyType(kt)).Server(t, testpki.CertOptions{Key: testpki.KeyType(kt)})
	}
	s65 := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: issue(devpki.MLDSA65)})
	s87 := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: issue(devpki.MLDSA87), Groups: "MLKEM1024"})
	sEC := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Groups: "MLKEM1024"})
	l := func(name, auth string, s *testpeer.OpenSSLServerPeer) ListenerConfig {
		return ListenerConfig{Name: name, Mode: ModeClient, Listen: "127.0.0.1:0", Target: s.Addr, ServerName: "localhost", CA: s.CA.WriteCertFile(t, t.TempDir()), Auth: auth}
	}
	cl, reg, logs := startJSON(t, Config{Listeners: []ListenerConfig{l("ml65", "require-pq", s65), l("ml87", "cnsa2", s87), l("ecdsa", "cnsa2", sEC)}})
	get := func(i int) (string, error) {
		c, err := net.Dial("tcp", cl.Listeners()[i].Addr().String())
		if err != nil {
			return "", err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(15 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
			return "", err
		}
		b, err := io.ReadAll(c)
		return string(b), err
	}
	for i, name := range []string{"require-pq vs ML-DSA-65", "cnsa2 vs ML-DSA-87 + MLKEM1024"} {
		if body, err := get(i); err != nil || !strings.HasPrefix(body, "HTTP/1.0 200 ok") {
			t.Errorf("%s: %v %.80q", name, err, body)
		}
	}
	if body, _ := get(2); body != "" {
		t.Errorf("cnsa2 vs an ECDSA server carried data: %.80q", body)
	}
	waitFor(t, "three connection log lines", func() bool { return strings.Count(logs.String(), ConnectionLogMessage) == 3 })
	out := logs.String()
	for _, want := range []string{`"group":"MLKEM1024"`, `"auth":"ml-dsa"`, "auth policy cnsa2 needs an ML-DSA-87 certificate chain, the peer has leaf key ECDSA", `"close_reason":"handshake_policy_classical_auth"`} {
		if !strings.Contains(out, want) {
			t.Errorf("client tunnel log lacks %q:\n%s", want, out)
		}
	}
	if got := metricValue(t, reg, pqtls.MetricAuthTotal, map[string]string{"role": "client", "kind": pqtls.AuthKindMLDSA}); got != 2 {
		t.Errorf("ml-dsa handshakes: %v, want 2", got)
	}
}
