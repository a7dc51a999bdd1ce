package pqgrpc

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type fixture struct {
	ca   *devpki.CA
	cert tls.Certificate
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ca, err := devpki.NewCA("test CA", devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(devpki.Request{CommonName: "grpc.test", Hosts: []string{"grpc.test"}, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{ca: ca, cert: leaf.TLS()}
}

// startGRPC serves the standard health service with pqgrpc credentials.
func startGRPC(t *testing.T, f fixture, p pqtls.Policy) (string, *prometheus.Registry) {
	t.Helper()
	obs, reg := observed(t)
	creds, err := NewServerCredentials(pqtls.Options{Policy: p, Base: &tls.Config{Certificates: []tls.Certificate{f.cert}}}, obs)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveHealth(t, creds)
	return addr, reg
}

// serveHealth serves the standard health service with creds on a loopback
// port until stop is called or the test ends.
func serveHealth(t *testing.T, creds credentials.TransportCredentials) (addr string, stop func()) {
	t.Helper()
	srv := grpc.NewServer(grpc.Creds(creds))
	t.Cleanup(srv.Stop)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), srv.Stop
}

// waitValue waits (at most 5 s) until want accepts the value of metric name
// with labels on reg, and fails the test with the last value otherwise.
func waitValue(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string, want func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for v := testpeer.Value(t, reg, name, labels); !want(v); v = testpeer.Value(t, reg, name, labels) {
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v after 5 s", name, labels, v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// observed returns an Observer that records on a fresh registry.
func observed(t *testing.T) (*pqtls.Observer, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	m, err := pqtls.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return &pqtls.Observer{Metrics: m}, reg
}

func check(t *testing.T, f fixture, addr string, p pqtls.Policy) (*prometheus.Registry, error) {
	t.Helper()
	obs, reg := observed(t)
	creds, err := NewClientCredentials(pqtls.Options{Policy: p, Base: &tls.Config{RootCAs: f.ca.Pool(), ServerName: "grpc.test"}}, obs)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(false))
	if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health status %v", resp.GetStatus())
	}
	return reg, err
}

func TestHealthCheckOverHybrid(t *testing.T) {
	f := newFixture(t)
	addr, sreg := startGRPC(t, f, pqtls.Policy{Mode: pqtls.ModeRequire})
	creg, err := check(t, f, addr, pqtls.Policy{})
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	hybrid := map[string]string{"group": "x25519_mlkem768", "kind": "hybrid"}
	if v := testpeer.Value(t, creg, pqtls.MetricGroupTotal, hybrid); v != 1 {
		t.Errorf("client hybrid handshakes = %v, want 1", v)
	}
	// The server counts the hybrid handshake.
	waitValue(t, sreg, pqtls.MetricGroupTotal, hybrid, func(v float64) bool { return v == 1 })
}

func TestRequireServerRefusesClassicalGRPCClient(t *testing.T) {
	f := newFixture(t)
	addr, sreg := startGRPC(t, f, pqtls.Policy{Mode: pqtls.ModeRequire})
	if _, err := check(t, f, addr, pqtls.Policy{Mode: pqtls.ModeClassical}); err == nil {
		t.Fatal("classical gRPC client was served by a require server")
	}
	// The server counts policy_classical_peer.
	waitValue(t, sreg, pqtls.MetricErrorsTotal, map[string]string{"reason": pqtls.ReasonPolicyClassicalPeer}, func(v float64) bool { return v >= 1 })
}

func TestRequireClientRefusesClassicalGRPCServer(t *testing.T) {
	f := newFixture(t)
	addr, _ := startGRPC(t, f, pqtls.Policy{Mode: pqtls.ModeClassical})
	creds, _ := NewClientCredentials(pqtls.Options{Policy: pqtls.Policy{Mode: pqtls.ModeRequire}, Base: &tls.Config{RootCAs: f.ca.Pool(), ServerName: "grpc.test"}}, nil)
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_, _, err = creds.ClientHandshake(context.Background(), "grpc.test", raw)
	var perr *pqtls.PolicyError
	if !errors.As(err, &perr) {
		t.Fatalf("want *pqtls.PolicyError, got %v", err)
	}
	// Without Config.ServerName the error names the authority dialed.
	creds, _ = NewClientCredentials(pqtls.Options{Policy: pqtls.Policy{Mode: pqtls.ModeRequire}, Base: &tls.Config{RootCAs: f.ca.Pool()}}, nil)
	raw2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw2.Close()
	_, _, err = creds.ClientHandshake(context.Background(), "grpc.test:443", raw2)
	if !errors.As(err, &perr) || perr.ServerName != "grpc.test" || !strings.Contains(err.Error(), "server grpc.test (") {
		t.Fatalf("want a PolicyError naming grpc.test, got %v", err)
	}
	creg, err := check(t, f, addr, pqtls.Policy{Mode: pqtls.ModeRequire})
	if err == nil {
		t.Fatal("require client connected to a classical server")
	}
	if v := testpeer.Value(t, creg, pqtls.MetricErrorsTotal, map[string]string{"reason": pqtls.ReasonPolicyClassicalPeer}); v < 1 {
		t.Errorf("client policy errors = %v", v)
	}
	var _ credentials.TransportCredentials = creds
}

// The refusal behind a failed RPC is recoverable as a *pqtls.PolicyError.
func TestPolicyErrorOfFailedRPC(t *testing.T) {
	f := newFixture(t)
	addr, _ := startGRPC(t, f, pqtls.Policy{Mode: pqtls.ModeClassical})
	_, err := check(t, f, addr, pqtls.Policy{Mode: "REQUIRE"})
	if err == nil {
		t.Fatal("require client connected to a classical server")
	}
	var direct *pqtls.PolicyError
	if errors.As(err, &direct) {
		t.Log("grpc-go now wraps the handshake error")
	}
	perr, ok := PolicyErrorOf(err)
	if !ok || perr.Role != pqtls.RoleClient || perr.ServerName != "grpc.test" {
		t.Fatalf("PolicyErrorOf(%v) = %+v, %v", err, perr, ok)
	}
	if !pqtls.RefusedByPolicy(perr) || pqtls.ErrorReason(perr) != pqtls.ReasonPolicyClassicalPeer {
		t.Fatalf("PolicyError reason %q", pqtls.ErrorReason(perr))
	}
	if _, ok := PolicyErrorOf(errors.New("rpc error: code = Unavailable desc = something else")); ok {
		t.Fatal("PolicyErrorOf matched an unrelated error")
	}
	if _, ok := PolicyErrorOf(nil); ok {
		t.Fatal("PolicyErrorOf(nil)")
	}
}

// grpc-go's own credentials.NewTLS on an instrumented config records each
// handshake once; pqgrpc on an instrumented Base does not count it again.
func TestInstrumentedConfigThroughGRPC(t *testing.T) {
	f := newFixture(t)
	obs, reg := observed(t)
	scfg, err := pqtls.ServerConfig(pqtls.Options{Base: &tls.Config{Certificates: []tls.Certificate{f.cert}}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	for _, creds := range []func() (credentials.TransportCredentials, error){
		func() (credentials.TransportCredentials, error) { return credentials.NewTLS(scfg), nil },
		func() (credentials.TransportCredentials, error) {
			return NewServerCredentials(pqtls.Options{Base: scfg}, obs)
		},
	} {
		c, err := creds()
		if err != nil {
			t.Fatal(err)
		}
		addr, stop := serveHealth(t, c)
		if _, err := check(t, f, addr, pqtls.Policy{}); err != nil {
			t.Fatal(err)
		}
		stop()
	}
	hybrid := map[string]string{"role": "server", "group": "x25519_mlkem768", "kind": "hybrid"}
	// Server hybrid handshakes: 2, one per server.
	waitValue(t, reg, pqtls.MetricGroupTotal, hybrid, func(v float64) bool { return v == 2 })
	if v := testpeer.Value(t, reg, pqtls.MetricCipherTotal, map[string]string{"role": "server", "version": "TLS 1.3", "cipher": "TLS_AES_128_GCM_SHA256"}); v != 2 {
		t.Fatalf("cipher series = %v, want 2", v)
	}
}
