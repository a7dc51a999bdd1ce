package scan

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// nodeBin is the Node.js 26 (OpenSSL 3.5) used as the hybrid-capable peer
// (found by internal/testpeer; missing: skip, or fail with
// PQTLS_REQUIRE_PEERS=1).
func nodeBin(tb testing.TB) string {
	tb.Helper()
	p, err := testpeer.NodePath()
	if err != nil {
		testpeer.Missing(tb, testpeer.PeerNode, err)
	}
	return p
}

// testCert is a server certificate for localhost, scan.test, 127.0.0.1
// and ::1 from a fresh test CA (internal/testpki), with the pool of that CA
// and the PEM files a non-Go peer loads.
type testCert struct {
	tls      tls.Certificate
	pool     *x509.CertPool
	certFile string
	keyFile  string
}

func newTestCert(tb testing.TB) *testCert {
	tb.Helper()
	ca := testpki.NewCA(tb)
	c := ca.Server(tb, testpki.CertOptions{CommonName: "scan-test", DNSNames: []string{"localhost", "scan.test"}})
	f := c.WriteFiles(tb, tb.TempDir())
	return &testCert{tls: c.TLS, pool: ca.Pool(), certFile: f.Cert, keyFile: f.Key}
}

// nodeServerSpec configures one group of Node TLS servers.
type nodeServerSpec struct {
	ECDHCurve  string `json:"ecdhCurve,omitempty"`
	MaxVersion string `json:"maxVersion,omitempty"`
	MinVersion string `json:"minVersion,omitempty"`
	Ciphers    string `json:"ciphers,omitempty"`
	Count      int    `json:"count,omitempty"`
}

// startNodeServers starts one Node process serving every spec and returns
// the ports, one slice per spec.
func startNodeServers(tb testing.TB, cert *testCert, specs ...nodeServerSpec) [][]int {
	tb.Helper()
	ports, _ := startNodeServersCmd(tb, cert, specs...)
	return ports
}

// startNodeServersCmd is startNodeServers that also returns the process.
func startNodeServersCmd(tb testing.TB, cert *testCert, specs ...nodeServerSpec) ([][]int, *exec.Cmd) {
	tb.Helper()
	node := nodeBin(tb)
	cfg, _ := json.Marshal(map[string]any{"key": cert.keyFile, "cert": cert.certFile, "servers": specs})
	cfgFile := filepath.Join(tb.TempDir(), "servers.json")
	os.WriteFile(cfgFile, cfg, 0o600)
	cmd := exec.Command(node, "testdata/tlsservers.js", cfgFile)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l, ok := <-lines:
		if !ok {
			tb.Fatal("node servers exited before listening")
		}
		var ports [][]int
		if err := json.Unmarshal([]byte(l), &ports); err != nil {
			tb.Fatalf("node output %q: %v", l, err)
		}
		return ports, cmd
	case <-time.After(60 * time.Second):
		tb.Fatal("node servers did not start within 60s")
	}
	return nil, nil
}

// preambleServer runs the server side of a STARTTLS preamble, then TLS with
// a Go server offering the default groups.
func preambleServer(t *testing.T, cert *testCert, alpn []string, pre func(c net.Conn, r *bufio.Reader) bool) string {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.tls}, NextProtos: alpn}
	if alpn != nil {
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if cs.NegotiatedProtocol != alpn[0] {
				return errors.New("ALPN required")
			}
			return nil
		}
	}
	return listen(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		if pre != nil && !pre(c, r) {
			return
		}
		// The preamble reader must not have swallowed TLS bytes: hand the
		// buffered bytes over.
		tc := tls.Server(&bufConn{Conn: c, r: r}, cfg)
		if tc.Handshake() == nil {
			io.Copy(io.Discard, tc)
		}
	})
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }
