package canary

import (
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

var (
	certOnce sync.Once
	testCert tls.Certificate
)

// serverCert returns a throwaway server certificate (testpki: localhost,
// 127.0.0.1, ::1), one per test binary.
func serverCert(t testing.TB) tls.Certificate {
	t.Helper()
	certOnce.Do(func() { testCert = testpki.NewCA(t).Server(t, testpki.CertOptions{}).TLS })
	return testCert
}

// serverConfig returns a pqtls server configuration with the given mode.
func serverConfig(t testing.TB, mode pqtls.Mode) *tls.Config {
	t.Helper()
	cfg, err := pqtls.ServerConfig(pqtls.Options{Policy: pqtls.Policy{Mode: mode}, Base: &tls.Config{Certificates: []tls.Certificate{serverCert(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// servePQTLS runs a pqtls server (pqtls.Listen) on ln's address family:
// it accepts completed handshakes and closes them.
func servePQTLS(t testing.TB, inner net.Listener, mode pqtls.Mode) string {
	t.Helper()
	ln := pqtls.NewListener(inner, serverConfig(t, mode), pqtls.ListenerOptions{HandshakeTimeout: 5 * time.Second})
	testpeer.Serve(t, ln, 0, func(net.Conn) {})
	return ln.Addr().String()
}

func listenLoopback(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// fault is what a faultServer does with a ClientHello.
type fault int

const (
	// faultSingleRead reads once and resets the connection when that read
	// does not hold a complete ClientHello (the tldr.fail bug).
	faultSingleRead fault = iota
	// faultDropLarge stops reading a ClientHello whose first record is
	// longer than 1000 bytes and holds the connection open, like a path
	// that drops large packets.
	faultDropLarge
	// faultAlertLarge answers a handshake_failure alert to a ClientHello
	// whose first record is longer than 1000 bytes, like an inspecting
	// firewall.
	faultAlertLarge
	// faultHTTP answers every connection like an HTTP server.
	faultHTTP
)

// serveFault runs a TLS server behind a fault on ln, and returns its address.
// When the fault lets a ClientHello through, the bytes read so far are
// replayed to a real crypto/tls server configured by pqtls (prefer mode).
func serveFault(t testing.TB, ln net.Listener, f fault) string {
	t.Helper()
	cfg := serverConfig(t, pqtls.ModePrefer)
	done := make(chan struct{})
	testpeer.Serve(t, ln, 0, func(c net.Conn) { handleFault(c, f, cfg, done) })
	t.Cleanup(func() { close(done) }) // runs first (cleanups are LIFO): wakes sleeping faults
	return ln.Addr().String()
}

func handleFault(c net.Conn, f fault, cfg *tls.Config, done chan struct{}) {
	buf := make([]byte, 32<<10)
	switch f {
	case faultHTTP:
		_, _ = c.Read(buf)
		_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		return
	case faultSingleRead:
		if n, ok := singleRead(c, buf); ok {
			_ = tls.Server(&prefixConn{Conn: c, prefix: buf[:n]}, cfg).Handshake()
		}
		return
	case faultDropLarge, faultAlertLarge:
		hdr := make([]byte, 5)
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		if binary.BigEndian.Uint16(hdr[3:]) > 1000 {
			if f == faultAlertLarge {
				_, _ = c.Write([]byte{21, 3, 3, 0, 2, 2, 40})
				return
			}
			select { // hold the connection, read nothing
			case <-done:
			case <-time.After(10 * time.Second):
			}
			return
		}
		_ = tls.Server(&prefixConn{Conn: c, prefix: hdr}, cfg).Handshake()
	}
}

// singleRead reads once into buf, like a server with the tldr.fail bug:
// when that read does not hold a complete ClientHello it resets c and
// returns false.
func singleRead(c net.Conn, buf []byte) (int, bool) {
	n, err := c.Read(buf)
	if err != nil {
		return 0, false
	}
	if !completeHello(buf[:n]) {
		reset(c)
		return 0, false
	}
	return n, true
}

// completeHello reports whether b starts with one handshake record holding
// a whole ClientHello.
func completeHello(b []byte) bool {
	if len(b) < 9 || b[0] != 22 {
		return false
	}
	recLen := int(binary.BigEndian.Uint16(b[3:]))
	if len(b) < 5+recLen {
		return false
	}
	msgLen := int(b[6])<<16 | int(b[7])<<8 | int(b[8])
	return 4+msgLen <= recLen
}

// reset closes c with an RST.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// prefixConn replays prefix before reading from Conn.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// caseOf returns the named case of r, failing the test when absent.
// wantVerdict fails the test unless rep's verdict is code with Safe equal
// to safe.
func wantVerdict(t testing.TB, rep *Report, code string, safe bool) {
	t.Helper()
	if rep.Verdict.Code != code || rep.Verdict.Safe != safe {
		t.Fatalf("verdict %+v, want %s (safe %v)", rep.Verdict, code, safe)
	}
}

func caseOf(t testing.TB, r *Report, name string) CaseResult {
	t.Helper()
	for _, c := range r.Cases {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("case %s missing from report", name)
	return CaseResult{}
}

// sslRequestListener answers PostgreSQL's SSLRequest with 'S' on each
// accepted connection before handing it over (or, when serve is set, runs
// serve as the server side of another preamble).
type sslRequestListener struct {
	net.Listener
	t        testing.TB
	requests atomic.Int32
	serve    func(c net.Conn) bool
}

func (l *sslRequestListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if l.serve != nil {
			if !l.serve(c) {
				_ = c.Close()
				continue
			}
			l.requests.Add(1)
			_ = c.SetDeadline(time.Time{})
			return c, nil
		}
		b := make([]byte, 8)
		if _, err := io.ReadFull(c, b); err != nil || binary.BigEndian.Uint32(b[4:]) != 80877103 {
			_ = c.Close()
			continue
		}
		l.requests.Add(1)
		if _, err := c.Write([]byte{'S'}); err != nil {
			_ = c.Close()
			continue
		}
		_ = c.SetDeadline(time.Time{})
		return c, nil
	}
}
