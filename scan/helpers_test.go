package scan

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

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
