package pqtls

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type testServer struct {
	ln      *Listener
	reg     *prometheus.Registry
	logs    *testpeer.Buffer
	metrics *Metrics
}

// startServer runs an instrumented echo server with the given policy.
func startServer(t *testing.T, p Policy, cert tls.Certificate) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testpeer.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	cfg, err := ServerConfig(Options{Policy: p, Base: &tls.Config{Certificates: []tls.Certificate{cert}}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("tcp", "127.0.0.1:0", cfg, ListenerOptions{HandshakeTimeout: 2 * time.Second, Observer: &Observer{Metrics: m, Logger: logger}})
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 0, func(c net.Conn) { _, _ = io.Copy(c, c) })
	return &testServer{ln: ln, reg: reg, logs: logs, metrics: m}
}

func clientDial(t *testing.T, addr string, p Policy, pool any) (*tls.Conn, *Metrics, error) {
	t.Helper()
	base := &tls.Config{ServerName: "localhost"}
	switch v := pool.(type) {
	case *tls.Config:
		base = v
	default:
		base.RootCAs = poolOf(v)
	}
	cfg, err := ClientConfig(Options{Policy: p, Base: base})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := NewMetrics(prometheus.NewRegistry())
	d := &Dialer{Config: cfg, Observer: &Observer{Metrics: m}, HandshakeTimeout: 5 * time.Second}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return nil, m, err
	}
	t.Cleanup(func() { c.Close() })
	return c.(*tls.Conn), m, nil
}

func counter(t *testing.T, c prometheus.Collector, labels ...string) float64 {
	t.Helper()
	switch v := c.(type) {
	case *prometheus.CounterVec:
		return testutil.ToFloat64(v.WithLabelValues(labels...))
	}
	t.Fatalf("not a counter vec: %T", c)
	return 0
}

func TestRequireServerAcceptsHybridAndRefusesClassical(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := startServer(t, Policy{Mode: ModeRequire}, cert)
	addr := srv.ln.Addr().String()

	// A default (prefer) client negotiates X25519MLKEM768 without HRR.
	c, cm, err := clientDial(t, addr, Policy{}, pool)
	if err != nil {
		t.Fatalf("hybrid client refused: %v", err)
	}
	if cs := c.ConnectionState(); cs.CurveID != tls.X25519MLKEM768 || cs.HelloRetryRequest {
		t.Fatalf("negotiated %v hrr=%v", cs.CurveID, cs.HelloRetryRequest)
	}
	echo(t, c)
	if got := counter(t, cm.groups, "client", "x25519_mlkem768", "hybrid"); got != 1 {
		t.Errorf("client group counter = %v", got)
	}

	// A classical-only client gets handshake_failure; the server counts a
	// policy error and logs the peer and SNI.
	_, _, err = clientDial(t, addr, Policy{Mode: ModeClassical}, pool)
	if err == nil {
		t.Fatal("classical client was accepted by a require server")
	}
	if !strings.Contains(err.Error(), "handshake failure") {
		t.Errorf("client error %q, want a handshake_failure alert", err)
	}
	waitFor(t, func() bool { return counter(t, srv.metrics.errors, "server", ReasonPolicyClassicalPeer) == 1 })
	if got := counter(t, srv.metrics.groups, "server", "x25519_mlkem768", "hybrid"); got != 1 {
		t.Errorf("server hybrid counter = %v, want 1", got)
	}
	waitFor(t, func() bool {
		logs := srv.logs.String()
		return strings.Contains(logs, "refused classical-only client 127.0.0.1:") && strings.Contains(logs, `SNI \"localhost\"`) && strings.Contains(logs, `"sni":"localhost","reason":"policy_classical_peer"`)
	})
}

func TestRequireServerHelloRetry(t *testing.T) {
	cert, pool := selfSigned(t)
	// Go's client always sends its X25519MLKEM768 share first (it ignores
	// the order of CurvePreferences), so a server that accepts only
	// SecP256r1MLKEM768 must ask again.
	srv := startServer(t, Policy{Mode: ModeRequire, Groups: []tls.CurveID{tls.SecP256r1MLKEM768}}, cert)
	c, _, err := clientDial(t, srv.ln.Addr().String(), Policy{}, pool)
	if err != nil {
		t.Fatal(err)
	}
	if cs := c.ConnectionState(); cs.CurveID != tls.SecP256r1MLKEM768 || !cs.HelloRetryRequest {
		t.Fatalf("negotiated %v hrr=%v, want SecP256r1MLKEM768 after HRR", cs.CurveID, cs.HelloRetryRequest)
	}
	echo(t, c)
	waitFor(t, func() bool {
		return testutil.ToFloat64(srv.metrics.hrr.WithLabelValues("server", "secp256r1_mlkem768")) == 1
	})
}

func TestRequireClientRefusesClassicalServer(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := startServer(t, Policy{Mode: ModeClassical}, cert)
	_, cm, err := clientDial(t, srv.ln.Addr().String(), Policy{Mode: ModeRequire}, pool)
	var perr *PolicyError
	if !errors.As(err, &perr) {
		t.Fatalf("want *PolicyError, got %v", err)
	}
	if perr.Role != RoleClient || len(perr.Offered) != 1 || perr.Offered[0] != tls.X25519 {
		t.Fatalf("PolicyError %+v: want the server's classical choice x25519", perr)
	}
	if !strings.Contains(err.Error(), "classical-only") || !strings.Contains(err.Error(), "selects x25519") || !strings.Contains(err.Error(), "policy prefer") {
		t.Errorf("error does not say what the server selects and what to do: %v", err)
	}
	if got := counter(t, cm.errors, "client", ReasonPolicyClassicalPeer); got != 1 {
		t.Errorf("client policy error counter = %v", got)
	}
}

func TestRequireClientNamesTheHybridTheServerWants(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := startServer(t, Policy{Groups: []tls.CurveID{tls.X25519MLKEM768, tls.X25519}}, cert) // no SecP384r1MLKEM1024
	_, _, err := clientDial(t, srv.ln.Addr().String(), Policy{Mode: ModeRequire, Groups: []tls.CurveID{tls.SecP384r1MLKEM1024}}, pool)
	var perr *PolicyError
	if !errors.As(err, &perr) || len(perr.Offered) != 1 || perr.Offered[0] != tls.X25519MLKEM768 {
		t.Fatalf("want a PolicyError naming X25519MLKEM768, got %v", err)
	}
	if !strings.Contains(err.Error(), "add X25519MLKEM768 to this client's groups") {
		t.Errorf("error does not say what to do: %v", err)
	}
	waitFor(t, func() bool { return counter(t, srv.metrics.errors, "server", ReasonNoSharedGroup) == 1 })
}

func TestPreferInteroperatesBothWays(t *testing.T) {
	cert, pool := selfSigned(t)
	classical := startServer(t, Policy{Mode: ModeClassical}, cert)
	c, _, err := clientDial(t, classical.ln.Addr().String(), Policy{}, pool)
	if err != nil {
		t.Fatal(err)
	}
	if id := c.ConnectionState().CurveID; id != tls.X25519 {
		t.Fatalf("prefer client vs classical server negotiated %v", id)
	}
	hybrid := startServer(t, Policy{}, cert)
	c, _, err = clientDial(t, hybrid.ln.Addr().String(), Policy{Mode: ModeClassical}, pool)
	if err != nil {
		t.Fatal(err)
	}
	if id := c.ConnectionState().CurveID; id != tls.X25519 {
		t.Fatalf("classical client vs prefer server negotiated %v", id)
	}
	waitFor(t, func() bool { return counter(t, hybrid.metrics.groups, "server", "x25519", "classical") == 1 })
}

func TestListenerCutsOffSilentClient(t *testing.T) {
	cert, _ := selfSigned(t)
	reg := prometheus.NewRegistry()
	m, _ := NewMetrics(reg)
	cfg, _ := ServerConfig(Options{Base: &tls.Config{Certificates: []tls.Certificate{cert}}})
	ln, err := Listen("tcp", "127.0.0.1:0", cfg, ListenerOptions{HandshakeTimeout: 200 * time.Millisecond, Observer: &Observer{Metrics: m}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil || errors.Is(err, ctxTimeout{}) {
		t.Fatalf("silent client was not disconnected: %v", err)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("server did not cut off the silent client within 5 s")
	}
	waitFor(t, func() bool { return counter(t, m.errors, "server", ReasonTimeout) == 1 })

	garbage, _ := net.Dial("tcp", ln.Addr().String())
	defer garbage.Close()
	_, _ = garbage.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	waitFor(t, func() bool { return counter(t, m.errors, "server", ReasonNotTLS) == 1 })
}

func TestListenerCloseDoesNotWaitForHandshakes(t *testing.T) {
	cfg, _ := defaultServer(t)
	ln, err := Listen("tcp", "127.0.0.1:0", cfg, ListenerOptions{HandshakeTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	silent, _ := net.Dial("tcp", ln.Addr().String())
	defer silent.Close()
	time.Sleep(50 * time.Millisecond) // let the listener accept it
	done := make(chan struct{})
	go func() { ln.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on an in-progress handshake")
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
}

type ctxTimeout struct{}

func (ctxTimeout) Error() string { return "timeout" }

func echo(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo: %q %v", buf, err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A Base with its own GetConfigForClient (per-SNI certificates, say) must not
// bypass the policy: the per-client configuration gets the policy's groups
// and versions in every mode, and require still refuses classical clients.
func TestServerConfigPolicyAppliesToBaseGetConfigForClient(t *testing.T) {
	cert, pool := selfSigned(t)
	var calls atomic.Int32
	base := &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		calls.Add(1)
		// What a careless per-client config looks like: classical groups,
		// TLS 1.2 allowed.
		return &tls.Config{Certificates: []tls.Certificate{cert}, CurvePreferences: []tls.CurveID{tls.X25519}, MinVersion: tls.VersionTLS12}, nil
	}}
	client := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	for _, tc := range []struct {
		mode Mode
		want tls.CurveID
	}{{ModePrefer, tls.X25519MLKEM768}, {ModeRequire, tls.X25519MLKEM768}} {
		srv, err := ServerConfig(Options{Policy: Policy{Mode: tc.mode}, Base: base})
		if err != nil {
			t.Fatal(err)
		}
		before := calls.Load()
		cs := pipeHandshake(t, srv, client)
		if cs.CurveID != tc.want {
			t.Errorf("%s: negotiated %s, want %s (the per-client config bypassed the policy)", tc.mode, GroupName(cs.CurveID), GroupName(tc.want))
		}
		if calls.Load() == before {
			t.Errorf("%s: Base.GetConfigForClient was not called", tc.mode)
		}
	}
	// Classical mode: the per-client config offers hybrids by default (nil
	// CurvePreferences); the rollback switch must still win.
	classicalBase := &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
	}}
	srv, err := ServerConfig(Options{Policy: Policy{Mode: ModeClassical}, Base: classicalBase})
	if err != nil {
		t.Fatal(err)
	}
	if cs := pipeHandshake(t, srv, client); IsHybrid(cs.CurveID) {
		t.Errorf("classical server with a per-client config negotiated %s", GroupName(cs.CurveID))
	}
	// TLS 1.2 from the per-client config must not reopen a TLS 1.2 path in
	// require mode.
	srv, _ = ServerConfig(Options{Policy: Policy{Mode: ModeRequire}, Base: base})
	old := &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: tls.VersionTLS12}
	if err := handshakeErr(t, srv, old); err == nil {
		t.Error("require server with a per-client config accepted a TLS 1.2 client")
	}
}

// handshakeErr runs a handshake over loopback and returns the server's error.
func handshakeErr(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	_, _, serr := loopbackHandshake(t, server, client)
	return serr
}

// noAddrConn is a wrapped connection that does not know its peer address.
type noAddrConn struct{ net.Conn }

func (noAddrConn) RemoteAddr() net.Addr { return nil }

// A require-mode refusal on a connection without a remote address (some
// wrappers return nil) is still a PolicyError, not a panic.
func TestRequireRefusalWithoutRemoteAddr(t *testing.T) {
	cert, _ := selfSigned(t)
	srvCfg, err := ServerConfig(Options{Policy: Policy{Mode: ModeRequire}, Base: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		_ = b.SetDeadline(time.Now().Add(5 * time.Second))
		_ = tls.Client(b, &tls.Config{InsecureSkipVerify: true, CurvePreferences: []tls.CurveID{tls.X25519}}).Handshake()
		b.Close()
	}()
	_ = a.SetDeadline(time.Now().Add(5 * time.Second))
	err = tls.Server(noAddrConn{a}, srvCfg).Handshake()
	var perr *PolicyError
	if !errors.As(err, &perr) {
		t.Fatalf("want *PolicyError, got %v", err)
	}
}
