package tunnel

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/pqtls/pqtls/bench"
)

// benchTargets starts a bare crypto/tls echo server and a server tunnel in
// front of a plaintext echo server, both with the same ECDSA P-256
// certificate, and a client tunnel in front of the server tunnel.
func benchTargets(b *testing.B) (bare, tun, pair string, cfg *tls.Config) {
	p := newPKI(b)
	cert, certPath, keyPath := p.issue(b, certOpts{cn: "db.internal", dns: []string{"db.internal"}, name: "server"})
	ln := listenLocal(b)
	bareSrv := bench.NewEchoServer(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	b.Cleanup(func() { bareSrv.Close() })
	pln, _ := net.Listen("tcp", "127.0.0.1:0")
	plainSrv := bench.NewEchoServer(pln, nil)
	b.Cleanup(func() { plainSrv.Close() })
	srv, _ := startTunnel(b, Config{Listeners: []ListenerConfig{{Mode: ModeServer, Listen: "127.0.0.1:0", Target: pln.Addr().String(), Cert: certPath, Key: keyPath}}})
	cl, _ := startTunnel(b, Config{Listeners: []ListenerConfig{clientListener(p, srv.Listeners()[0].Addr().String())}})
	return ln.Addr().String(), srv.Listeners()[0].Addr().String(), cl.Listeners()[0].Addr().String(), &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal"}
}

func runBench(b *testing.B, o bench.Options) *bench.Result {
	b.Helper()
	if o.Duration == 0 {
		o.Duration = time.Minute
	}
	res, err := bench.Run(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	if res.Errors > 0 {
		b.Fatalf("%d errors: %s", res.Errors, res.FirstError)
	}
	return res
}

// BenchmarkHandshakeVsBare measures full X25519MLKEM768 handshakes per
// second through the server tunnel and against a bare crypto/tls server,
// interleaved in one run, and reports the ratio (goal >= 0.9).
func BenchmarkHandshakeVsBare(b *testing.B) {
	bare, tun, _, cfg := benchTargets(b)
	n := int64(max(b.N, 8))
	var bareRate, tunRate float64
	b.ResetTimer()
	for round := 0; round < 2; round++ {
		bareRate += runBench(b, bench.Options{Target: bare, TLS: cfg, Mode: bench.ModeHandshake, Concurrency: 4, Count: n / 2}).Rate
		tunRate += runBench(b, bench.Options{Target: tun, TLS: cfg, Mode: bench.ModeHandshake, Concurrency: 4, Count: n / 2}).Rate
	}
	b.ReportMetric(bareRate/2, "bare_hs/s")
	b.ReportMetric(tunRate/2, "tunnel_hs/s")
	b.ReportMetric(tunRate/bareRate, "ratio")
}

// BenchmarkEchoVsBare measures bulk echo throughput through the server
// tunnel (to a plaintext echo backend) and the client+server pair against
// the bare TLS echo server, and reports the ratios (goal >= 0.75 for the
// server tunnel).
func BenchmarkEchoVsBare(b *testing.B) {
	bare, tun, pair, cfg := benchTargets(b)
	d := time.Duration(max(b.N, 1)) * time.Millisecond
	d = min(max(d, 200*time.Millisecond), 3*time.Second)
	var bareBps, tunBps, pairBps float64
	b.ResetTimer()
	for round := 0; round < 2; round++ {
		bareBps += runBench(b, bench.Options{Target: bare, TLS: cfg, Mode: bench.ModeThroughput, Concurrency: 2, Duration: d}).BytesPerSecond
		tunBps += runBench(b, bench.Options{Target: tun, TLS: cfg, Mode: bench.ModeThroughput, Concurrency: 2, Duration: d}).BytesPerSecond
		pairBps += runBench(b, bench.Options{Target: pair, Mode: bench.ModeThroughput, Concurrency: 2, Duration: d}).BytesPerSecond
	}
	b.ReportMetric(bareBps/2/(1<<20), "bare_MiB/s")
	b.ReportMetric(tunBps/2/(1<<20), "tunnel_MiB/s")
	b.ReportMetric(pairBps/2/(1<<20), "pair_MiB/s")
	b.ReportMetric(tunBps/bareBps, "tunnel_ratio")
	b.ReportMetric(pairBps/bareBps, "pair_ratio")
}

// BenchmarkRoundTripPair measures small request/response latency through
// the client+server pair and directly against the bare TLS echo server.
func BenchmarkRoundTripPair(b *testing.B) {
	bare, _, pair, cfg := benchTargets(b)
	n := int64(max(b.N, 100))
	b.ResetTimer()
	direct := runBench(b, bench.Options{Target: bare, TLS: cfg, Mode: bench.ModeRR, Concurrency: 1, Count: n})
	through := runBench(b, bench.Options{Target: pair, Mode: bench.ModeRR, Concurrency: 1, Count: n})
	b.ReportMetric(direct.Latency.P50*1000, "direct_p50_us")
	b.ReportMetric(through.Latency.P50*1000, "pair_p50_us")
	b.ReportMetric(direct.Latency.P99*1000, "direct_p99_us")
	b.ReportMetric(through.Latency.P99*1000, "pair_p99_us")
}
