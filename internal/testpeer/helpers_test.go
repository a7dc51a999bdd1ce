package testpeer

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

// goDial connects a Go client to addr and returns the state and the first
// bytes the server sent.
func goDial(t *testing.T, addr string, cfg *tls.Config) (tls.ConnectionState, string, error) {
	t.Helper()
	var b []byte
	st, err := goConn(addr, cfg, func(c *tls.Conn) (err error) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		b, err = io.ReadAll(c)
		return err
	})
	return st, string(b), err
}

// goHandshake connects, completes the handshake and closes.
func goHandshake(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	return goConn(addr, cfg, nil)
}

// goConn dials addr with a Go TLS client (10 s timeout), runs use on the
// connection when set, and closes it.
func goConn(addr string, cfg *tls.Config, use func(*tls.Conn) error) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	if use != nil {
		err = use(c)
	}
	return c.ConnectionState(), err
}

// httpsGet GETs url with a Go HTTP client trusting ca (10 s timeouts) and
// returns the body and the connection's TLS state.
func httpsGet(t *testing.T, ca *testpki.CA, url string) (string, *tls.ConnectionState) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: ca.ClientTLS("localhost", nil), TLSHandshakeTimeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body), resp.TLS
}

// goServer runs a Go TLS server on 127.0.0.1 (see serveTLS) that writes
// "hello from go\n".
func goServer(t *testing.T, cfg *tls.Config) (string, <-chan tls.ConnectionState) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String(), serveTLS(t, ln, cfg, "hello from go\n")
}

// serveTLS accepts connections on ln until the test ends, runs a TLS server
// handshake with cfg on each, sends its ConnectionState (the zero value when
// the handshake failed) on the returned channel, then writes reply. The
// channel holds 16 states; when nobody reads them, later ones are dropped.
func serveTLS(t *testing.T, ln net.Listener, cfg *tls.Config, reply string) <-chan tls.ConnectionState {
	states := make(chan tls.ConnectionState, 16)
	report := func(cs tls.ConnectionState) {
		select {
		case states <- cs:
		default:
		}
	}
	Serve(t, ln, 0, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			report(tls.ConnectionState{})
			return
		}
		report(tc.ConnectionState())
		_, _ = tc.Write([]byte(reply))
	})
	return states
}

// redisPing sends PING over c and returns the first reply line.
func redisPing(c net.Conn) (string, error) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

// readTestdata returns the content of testdata/name.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
