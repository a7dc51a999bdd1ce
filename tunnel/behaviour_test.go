package tunnel

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
)

func TestBackendDown(t *testing.T) {
	p := newPKI(t)
	dead := freeAddr(t)
	tu, reg, base := serverOnly(t, p, dead, nil)
	addr := tu.Listeners()[0].Addr().String()
	for i := 0; i < 3; i++ {
		c, err := dialTLS(addr, base)
		if err != nil {
			t.Fatalf("handshake should complete before the backend dial: %v", err)
		}
		start := time.Now()
		_, err = c.Read(make([]byte, 1))
		if err == nil {
			t.Fatal("read succeeded with the backend down")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("client connection closed after %v, want promptly", d)
		}
		c.Close()
	}
	waitMetric(t, reg, MetricBackendErrors, map[string]string{"stage": "dial"}, 3)
	if probs := tu.Ready(); len(probs) != 1 || !strings.Contains(probs[0], "unreachable") {
		t.Fatalf("Ready() = %q, want one 'target unreachable' problem", probs)
	}
}

func TestHalfClose(t *testing.T) {
	p := newPKI(t)
	// Backend: reads everything until EOF, then answers with the byte count
	// and closes (client -> target half-close).
	ln := listenLocal(t)
	mode := make(chan string, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				switch <-mode {
				case "client-first":
					b, _ := io.ReadAll(c)
					_, _ = c.Write([]byte("got:" + string(b)))
				case "server-first":
					// The target closes its write side first, then
					// still reads what the client sends.
					_, _ = c.Write([]byte("bye"))
					_ = c.(*net.TCPConn).CloseWrite()
					b, _ := io.ReadAll(c)
					if string(b) != "late data" {
						t.Errorf("target read %q after its half-close, want %q", b, "late data")
					}
				}
			}(c)
		}
	}()
	srv, _, _ := serverOnly(t, p, ln.Addr().String(), nil)
	cl, _ := startTunnel(t, Config{Listeners: []ListenerConfig{clientListener(p, srv.Listeners()[0].Addr().String())}})
	caddr := cl.Listeners()[0].Addr().String()

	mode <- "client-first"
	c, err := net.Dial("tcp", caddr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = c.Write([]byte("question"))
	_ = c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "got:question" {
		t.Fatalf("after client half-close read %q, %v; want %q", b, err, "got:question")
	}
	c.Close()

	mode <- "server-first"
	c, err = net.Dial("tcp", caddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err = io.ReadAll(c) // EOF arrives while our write side is open
	if err != nil || string(b) != "bye" {
		t.Fatalf("read %q, %v; want %q then EOF", b, err, "bye")
	}
	if _, err := c.Write([]byte("late data")); err != nil {
		t.Fatalf("write after the target's half-close: %v", err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	waitFor(t, "connections to end", func() bool { return srv.ActiveConnections() == 0 && cl.ActiveConnections() == 0 })
}

func TestIdleTimeoutAndLongIdle(t *testing.T) {
	p := newPKI(t)
	tu, _, base := serverOnly(t, p, echoServer(t), func(l *ListenerConfig) { l.IdleTimeout = Duration(400 * time.Millisecond) })
	addr := tu.Listeners()[0].Addr().String()
	c, err := dialTLS(addr, base)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Traffic every 150 ms keeps it alive well past the idle timeout.
	for i := 0; i < 6; i++ {
		if s, err := roundTrip(c, "tick"); err != nil || s != "tick" {
			t.Fatalf("round trip %d: %q %v", i, s, err)
		}
		time.Sleep(150 * time.Millisecond)
	}
	// Then silence: the tunnel closes it.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
		t.Fatalf("idle connection not closed by the tunnel: %v", err)
	}
}

func TestProxyProtocolV2(t *testing.T) {
	p := newPKI(t)
	addr, got := proxyBackend(t)
	tu, _, base := serverOnly(t, p, addr, func(l *ListenerConfig) { l.ProxyProtocol = true; l.CA = p.caPath })
	cert, _, _ := p.issue(t, certOpts{cn: "api-client", uris: []string{"spiffe://example.org/ns/prod/sa/api"}, client: true})
	cfg := base.Clone()
	cfg.Certificates = []tls.Certificate{cert}
	c, err := dialTLS(tu.Listeners()[0].Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if s, err := roundTrip(c, "after header"); err != nil || s != "after header" {
		t.Fatalf("payload after PROXY header: %q %v", s, err)
	}
	info := <-got
	if info == nil {
		t.Fatal("backend got no valid PROXY v2 header")
	}
	if info.Source.String() != c.LocalAddr().String() {
		t.Errorf("PROXY source %v, want the client's address %v", info.Source, c.LocalAddr())
	}
	want := map[byte]string{PP2SubtypeSSLVersion: "TLSv1.3", PP2SubtypeSSLGroup: "X25519MLKEM768", PP2SubtypeSSLCN: "api-client", PP2SubtypeSSLCipher: tls.CipherSuiteName(c.ConnectionState().CipherSuite)}
	for k, v := range want {
		if string(info.SSL[k]) != v {
			t.Errorf("SSL sub-TLV 0x%02x = %q, want %q", k, info.SSL[k], v)
		}
	}
	if string(info.TLVs[PP2TypeAuthority]) != "db.internal" {
		t.Errorf("authority TLV %q, want db.internal", info.TLVs[PP2TypeAuthority])
	}
	if string(info.TLVs[PP2TypePeerIdentity]) != "spiffe://example.org/ns/prod/sa/api" {
		t.Errorf("identity TLV %q", info.TLVs[PP2TypePeerIdentity])
	}
	if info.SSLClient != pp2ClientSSL|pp2ClientCertConn|pp2ClientCertSess {
		t.Errorf("SSL client flags 0x%02x", info.SSLClient)
	}
}

func TestUnixSockets(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	backendPath := filepath.Join(dir, "backend.sock")
	bl, err := net.Listen("unix", backendPath)
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, bl, 0, func(c net.Conn) { _, _ = io.Copy(c, c) })
	srvPath := filepath.Join(dir, "tls.sock")
	serverOnly(t, p, "unix:"+backendPath, func(l *ListenerConfig) { l.Listen = "unix:" + srvPath })
	cli := clientListener(p, "unix:"+srvPath)
	cli.Listen = "unix:" + filepath.Join(dir, "plain.sock")
	cl, _ := startTunnel(t, Config{Listeners: []ListenerConfig{cli}})
	c, err := net.Dial("unix", cl.Listeners()[0].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if s, err := roundTrip(c, "over unix sockets"); err != nil || s != "over unix sockets" {
		t.Fatalf("%q %v", s, err)
	}
}

// TestReloadUnderLoad replaces the server certificate (rename, as editors
// and Kubernetes do) while clients handshake continuously: zero failed
// handshakes, and new connections get the new certificate.
func TestReloadUnderLoad(t *testing.T) {
	p := newPKI(t)
	l := serverListener(t, p, echoServer(t))
	tu, reg := startTunnel(t, Config{Listeners: []ListenerConfig{l}})
	addr := tu.Listeners()[0].Addr().String()
	base := &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal"}
	first, _ := dialTLS(addr, base)
	oldSerial := first.ConnectionState().PeerCertificates[0].SerialNumber
	// An established connection survives the reload.
	defer first.Close()

	// Each worker handshakes until cancelled and reports its tally.
	type tally struct{ ok, failed int }
	tallies := make(chan tally, 4)
	ctx, cancel := context.WithCancel(context.Background())
	for w := 0; w < 4; w++ {
		go func() {
			var n tally
			for ctx.Err() == nil {
				c, err := dialTLS(addr, base)
				if err == nil {
					_, err = roundTrip(c, "x")
					c.Close()
				}
				if err != nil {
					n.failed++
					t.Logf("handshake during reload: %v", err)
				} else {
					n.ok++
				}
			}
			tallies <- n
		}()
	}
	time.Sleep(100 * time.Millisecond)
	// Re-issue to the same paths (written via temp + rename); the file
	// watcher reloads.
	newCert, _, _ := p.issue(t, certOpts{cn: "db.internal", dns: []string{"db.internal"}, name: "server"})
	waitFor(t, "watcher reload", func() bool { return metricValue(t, reg, MetricReloads, nil) >= 1 })
	if err := tu.Reload(); err != nil { // the SIGHUP path
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	var all tally
	for range 4 {
		n := <-tallies
		all.ok, all.failed = all.ok+n.ok, all.failed+n.failed
	}
	if all.failed != 0 || all.ok == 0 {
		t.Fatalf("during reload: %d ok, %d failed handshakes", all.ok, all.failed)
	}
	c, err := dialTLS(addr, base)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(newCert.Leaf.SerialNumber) != 0 || got.Cmp(oldSerial) == 0 {
		t.Fatalf("after reload served serial %v, want new %v", got, newCert.Leaf.SerialNumber)
	}
	c.Close()
	if s, err := roundTrip(first, "old conn"); err != nil || s != "old conn" {
		t.Fatalf("connection established before the reload: %q %v", s, err)
	}

	// A broken file: reload fails, the old material keeps serving.
	if err := os.WriteFile(l.Cert, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tu.Reload(); err == nil {
		t.Fatal("reload of a broken certificate succeeded")
	}
	if v := metricValue(t, reg, MetricReloadErrors, nil); v < 1 {
		t.Fatalf("reload errors = %v", v)
	}
	c, err = dialTLS(addr, base)
	if err != nil {
		t.Fatalf("after a failed reload: %v", err)
	}
	c.Close()
}

// TestShutdownDrains: in-flight transfers that finish within the drain
// timeout lose nothing; new connections are refused.
func TestShutdownDrains(t *testing.T) {
	p := newPKI(t)
	tu, _, base := serverOnly(t, p, echoServer(t), nil)
	addr := tu.Listeners()[0].Addr().String()
	c, err := dialTLS(addr, base)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	payload := []byte(strings.Repeat("0123456789abcdef", 1<<16)) // 1 MiB
	go func() {
		for i := 0; i < 8; i++ {
			if _, err := c.Write(payload[i*len(payload)/8 : (i+1)*len(payload)/8]); err != nil {
				done <- err
				return
			}
			time.Sleep(30 * time.Millisecond)
		}
		done <- c.CloseWrite()
	}()
	time.Sleep(50 * time.Millisecond)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- tu.Shutdown(sctx) }()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read during drain: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if string(got) != string(payload) {
		t.Fatalf("drained transfer returned %d bytes, want %d identical", len(got), len(payload))
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := dialTLS(addr, base); err == nil {
		t.Fatal("new connection accepted after Shutdown")
	}
}

func TestMaxConnections(t *testing.T) {
	p := newPKI(t)
	tu, _, base := serverOnly(t, p, echoServer(t), func(l *ListenerConfig) { l.MaxConnections = 2 })
	addr := tu.Listeners()[0].Addr().String()
	var conns []*tls.Conn
	for i := 0; i < 2; i++ {
		c, err := dialTLS(addr, base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := roundTrip(c, "x"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The third waits in the kernel backlog: its handshake does not
	// complete until a slot frees.
	third := make(chan error, 1)
	go func() {
		c, err := dialTLS(addr, base)
		if err == nil {
			_, err = roundTrip(c, "y")
			c.Close()
		}
		third <- err
	}()
	select {
	case err := <-third:
		t.Fatalf("third connection served beyond max_connections=2 (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	conns[0].Close()
	if err := <-third; err != nil {
		t.Fatalf("third connection after a slot freed: %v", err)
	}
	conns[1].Close()
}

// TestWatcherIgnoresUnrelatedFiles: files written next to the certificates
// (logs, editor swap files) do not trigger reloads; a Kubernetes ..data swap
// does.
func TestWatcherIgnoresUnrelatedFiles(t *testing.T) {
	p := newPKI(t)
	l := serverListener(t, p, echoServer(t))
	_, reg := startTunnel(t, Config{Listeners: []ListenerConfig{l}})
	for i := 0; i < 5; i++ {
		_ = os.WriteFile(filepath.Join(p.dir, "tunnel.log"), []byte(strings.Repeat("x", i)), 0o644)
	}
	time.Sleep(3 * reloadDebounce)
	if v := metricValue(t, reg, MetricReloads, nil); v != 0 {
		t.Fatalf("%v reloads after writing an unrelated file", v)
	}
	_ = os.Mkdir(filepath.Join(p.dir, "..2026_11_27"), 0o755)
	_ = os.Symlink("..2026_11_27", filepath.Join(p.dir, "..data"))
	waitMetric(t, reg, MetricReloads, nil, 1)
}

// TestTargetTLS: a server tunnel in front of a backend that speaks classical
// TLS only; a target with a certificate from another CA is refused and
// counted as a backend handshake error.
func TestTargetTLS(t *testing.T) {
	p := newPKI(t)
	backendCert, _, _ := p.issue(t, certOpts{cn: "backend", name: "backend"})
	ln := listenLocal(t)
	testpeer.Serve(t, ln, 0, func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{backendCert}, CurvePreferences: []tls.CurveID{tls.X25519}, MaxVersion: tls.VersionTLS12})
		_, _ = io.Copy(tc, tc)
	})
	tu, reg, base := serverOnly(t, p, ln.Addr().String(), func(l *ListenerConfig) { l.TargetTLS = true; l.TargetCA = p.caPath })
	echoTLS(t, tu.Listeners()[0].Addr().String(), base, "to a TLS backend")

	other := newPKI(t)
	tu2, reg2, base2 := serverOnly(t, p, ln.Addr().String(), func(l *ListenerConfig) { l.TargetTLS = true; l.TargetCA = other.caPath })
	c, err := dialTLS(tu2.Listeners()[0].Addr().String(), base2)
	if err != nil {
		t.Fatal(err)
	}
	echoFails(t, c, "data went to a target whose certificate the tunnel cannot verify")
	waitMetric(t, reg2, MetricBackendErrors, map[string]string{"stage": "handshake"}, 1)
	if v := metricValue(t, reg, MetricBackendErrors, nil); v != 0 {
		t.Fatalf("%v backend errors on the good target", v)
	}
}

// TestStuckReaderAfterHalfClose: the client sends its request, half-closes
// and then never reads the (large) answer. With the client->target
// direction finished, only a write deadline can notice; the tunnel must
// close the connection after the idle timeout instead of holding it (and
// its buffers) forever.
func TestStuckReaderAfterHalfClose(t *testing.T) {
	p := newPKI(t)
	ln := listenLocal(t)
	testpeer.Serve(t, ln, 0, func(c net.Conn) {
		_, _ = io.ReadAll(c)
		chunk := make([]byte, 64<<10)
		for i := 0; i < 4096; i++ { // up to 256 MiB, until the tunnel gives up
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	tu, _, base := serverOnly(t, p, ln.Addr().String(), func(l *ListenerConfig) { l.IdleTimeout = Duration(300 * time.Millisecond) })
	c, err := dialTLS(tu.Listeners()[0].Addr().String(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("send me everything"))
	_ = c.CloseWrite()
	waitFor(t, "the tunnel to drop a connection whose client stopped reading", func() bool { return tu.ActiveConnections() == 0 })
}

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
