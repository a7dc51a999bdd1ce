package bench

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

func testServer(t *testing.T, curves []tls.CurveID) (string, *tls.Config) {
	t.Helper()
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewEchoServer(ln, &tls.Config{Certificates: []tls.Certificate{cert.TLS}, CurvePreferences: curves})
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), &tls.Config{RootCAs: ca.Pool()}
}

func TestRunModes(t *testing.T) {
	addr, cfg := testServer(t, nil)
	ctx := context.Background()
	res, err := Run(ctx, Options{Target: addr, TLS: cfg, Mode: ModeHandshake, Concurrency: 2, Count: 20, Duration: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Operations < 20 || res.Errors != 0 || res.Groups["X25519MLKEM768"] != res.Operations {
		t.Fatalf("handshake run: %+v", res)
	}
	if res.Schema != Schema || res.Latency.P50 <= 0 || res.Latency.P99 < res.Latency.P50 {
		t.Fatalf("summary: %+v", res.Latency)
	}
	res, err = Run(ctx, Options{Target: addr, TLS: cfg, Mode: ModeRR, Concurrency: 2, Count: 50, Duration: 30 * time.Second})
	if err != nil || res.Operations < 50 || res.Errors != 0 {
		t.Fatalf("rr run: %+v %v", res, err)
	}
	res, err = Run(ctx, Options{Target: addr, TLS: cfg, Mode: ModeThroughput, Concurrency: 2, Duration: time.Second})
	if err != nil || res.EchoedBytes == 0 || res.Errors != 0 {
		t.Fatalf("throughput run: %+v %v", res, err)
	}
	ready := -1
	res, err = Run(ctx, Options{Target: addr, TLS: cfg, Mode: ModeIdle, Concurrency: 20, Duration: 2 * time.Second, OnReady: func(n int) { ready = n }})
	if err != nil || res.OpenConnections != 20 || ready != 20 {
		t.Fatalf("idle run: open %d ready %d %v %v %s", res.OpenConnections, ready, err, res.ErrorReasons, res.FirstError)
	}
}

func TestRunReportsClassicalAndErrors(t *testing.T) {
	addr, cfg := testServer(t, []tls.CurveID{tls.X25519})
	res, err := Run(context.Background(), Options{Target: addr, TLS: cfg, Concurrency: 1, Count: 3, Duration: 30 * time.Second})
	if err != nil || res.Groups["x25519"] == 0 || res.Groups["X25519MLKEM768"] != 0 {
		t.Fatalf("classical server: groups %v err %v", res.Groups, err)
	}
	// A client offering only a hybrid group cannot talk to it: every
	// handshake fails and Run says so.
	hy := cfg.Clone()
	hy.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768}
	res, err = Run(context.Background(), Options{Target: addr, TLS: hy, Concurrency: 1, Duration: 300 * time.Millisecond})
	if err == nil || res.Errors == 0 || res.Operations != 0 {
		t.Fatalf("hybrid-only client vs classical server: %+v %v", res, err)
	}
}

// TestSummarizeNearestRank: percentiles are nearest-rank; with 100 samples
// of 1..100 ms, p99 is 99 ms (not the maximum) and p50 is 50 ms.
func TestSummarizeNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	l := summarize(d)
	if l.P50 != 50 || l.P90 != 90 || l.P99 != 99 || l.Max != 100 || l.Mean != 50.5 {
		t.Fatalf("summarize(1..100 ms) = %+v, want p50 50 p90 90 p99 99 max 100 mean 50.5", l)
	}
	if l := summarize([]time.Duration{7 * time.Millisecond}); l.P50 != 7 || l.P99 != 7 {
		t.Fatalf("one sample: %+v", l)
	}
}

// TestRunCountIsExact: --count N runs exactly N operations, however they
// divide among the workers.
func TestRunCountIsExact(t *testing.T) {
	addr, cfg := testServer(t, nil)
	for _, c := range []struct {
		mode        Mode
		count       int64
		concurrency int
	}{{ModeHandshake, 21, 4}, {ModeRR, 10, 3}, {ModeHandshake, 2, 5}} {
		res, err := Run(context.Background(), Options{Target: addr, TLS: cfg, Mode: c.mode, Concurrency: c.concurrency, Count: c.count, Duration: 30 * time.Second})
		if err != nil || res.Operations != c.count {
			t.Errorf("%s count %d with %d workers: %d operations, err %v", c.mode, c.count, c.concurrency, res.Operations, err)
		}
	}
}

// TestParseTarget: host:port and unix:PATH targets; a missing host or
// port, port 0, a named port and an empty path are errors.
func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:443": "tcp 127.0.0.1:443", "db.internal:5433": "tcp db.internal:5433", "[::1]:8443": "tcp [::1]:8443",
		"unix:/run/x.sock": "unix /run/x.sock",
	} {
		n, a, err := ParseTarget(in)
		if err != nil || n+" "+a != want {
			t.Errorf("ParseTarget(%q) = %s %s, %v; want %s", in, n, a, err, want)
		}
	}
	for _, in := range []string{"127.0.0.1", "db.internal", "db:", ":443", "db:0", "db:https", "unix:", ""} {
		if _, _, err := ParseTarget(in); err == nil {
			t.Errorf("ParseTarget(%q): no error", in)
		}
	}
}
