package tunnel

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// prefaceRecorder is a listener that keeps the first bytes of every
// connection the backend reads.
type prefaceRecorder struct {
	net.Listener
	mu    sync.Mutex
	first []string
}

func (r *prefaceRecorder) Accept() (net.Conn, error) {
	c, err := r.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordFirst{Conn: c, r: r}, nil
}

type recordFirst struct {
	net.Conn
	r    *prefaceRecorder
	done bool
}

func (c *recordFirst) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.done && n > 0 {
		c.done = true
		c.r.mu.Lock()
		c.r.first = append(c.r.first, string(p[:min(n, 24)]))
		c.r.mu.Unlock()
	}
	return n, err
}

// TestNoALPNHTTP1BackendNeverSeesHTTP2: an HTTP client that offers h2 and
// http/1.1 through a server tunnel without an alpn setting negotiates no
// ALPN and speaks HTTP/1.1; the HTTP/1.1-only backend never receives the
// HTTP/2 connection preface (issue 13 item 4). With alpn set, the tunnel
// negotiates what the config lists.
func TestNoALPNHTTP1BackendNeverSeesHTTP2(t *testing.T) {
	p := newPKI(t)
	ln := listenLocal(t)
	rec := &prefaceRecorder{Listener: ln}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(rec) }()
	t.Cleanup(func() { srv.Close() })

	tu, _, base := serverOnly(t, p, ln.Addr().String(), nil)
	tr := &http.Transport{TLSClientConfig: base.Clone(), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + tu.Listeners()[0].Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/1.1" || string(body) != "HTTP/1.1" || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "" {
		t.Errorf("proto %s, backend saw %q, ALPN %q; want HTTP/1.1 and no ALPN", resp.Proto, body, resp.TLS.NegotiatedProtocol)
	}
	rec.mu.Lock()
	for _, f := range rec.first {
		if strings.HasPrefix(f, "PRI * HTTP/2.0") {
			t.Errorf("HTTP/1.1 backend received the HTTP/2 preface")
		}
	}
	rec.mu.Unlock()

	// alpn in the config: the tunnel negotiates it.
	tu2, _, _ := serverOnly(t, p, ln.Addr().String(), func(l *ListenerConfig) { l.ALPN = []string{"h2", "http/1.1"} })
	cfg := base.Clone()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	c, err := dialTLS(tu2.Listeners()[0].Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := c.ConnectionState().NegotiatedProtocol; got != "h2" {
		t.Errorf("with alpn [h2 http/1.1]: negotiated %q, want h2", got)
	}
}

// TestOnHelloKeepsListenerALPN: a per-client configuration from the library
// (GetConfigForClient) that would add ALPN is answered with the listener's
// own list (none by default).
func TestOnHelloKeepsListenerALPN(t *testing.T) {
	cfg := &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return &tls.Config{NextProtos: []string{"h2", "http/1.1"}}, nil
	}}
	onHello(cfg, nil)
	c, err := cfg.GetConfigForClient(&tls.ClientHelloInfo{ServerName: "x"})
	if err != nil || c == nil || c.NextProtos != nil {
		t.Fatalf("per-client config %v %v, want one without ALPN", c, err)
	}
}
