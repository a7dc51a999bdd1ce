package exporter

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
	"github.com/pqtls/pqtls/tunnel"
)

// serveHTTP serves h on 127.0.0.1 until the test ends.
func serveHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// instrumentedServer is a service built on the pqtls library: pqtls.Listen
// with an Observer whose metrics are served on /metrics. Its groups are
// X25519MLKEM768, X25519 and secp384r1, so a client offering P-256 and P-384
// (key share P-256) gets a HelloRetryRequest.
type instrumentedServer struct {
	addr, metricsAddr string
	ca                *testpki.CA
}

func startInstrumented(t *testing.T, ca *testpki.CA) *instrumentedServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := pqtls.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	pol, _, err := pqtls.ParsePolicy("prefer", "X25519MLKEM768,X25519,secp384r1", "")
	if err != nil {
		t.Fatal(err)
	}
	cert := ca.Server(t, testpki.CertOptions{})
	cfg, err := pqtls.ServerConfig(pqtls.Options{Policy: pol, Base: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := pqtls.Listen("tcp", "127.0.0.1:0", cfg, pqtls.ListenerOptions{HandshakeTimeout: 5 * time.Second, Observer: &pqtls.Observer{Metrics: m}})
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 0, func(c net.Conn) { _, _ = c.Write([]byte("hello\n")) })
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return &instrumentedServer{addr: ln.Addr().String(), metricsAddr: serveHTTP(t, mux), ca: ca}
}

// traffic runs n handshakes of each kind against the instrumented server:
// default Go clients (hybrid), clients offering P-256 and P-384 (secp384r1
// after a HelloRetryRequest), X25519-only clients, and connections
// that do not speak TLS (handshake errors).
func (s *instrumentedServer) traffic(t *testing.T, hybrid, hrr, classical, garbage int) {
	t.Helper()
	dial := func(groups []tls.CurveID) {
		cfg := &tls.Config{RootCAs: s.ca.Pool(), ServerName: "localhost", CurvePreferences: groups}
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", s.addr, cfg)
		if err != nil {
			t.Errorf("handshake with the instrumented server (groups %v): %v", groups, err)
			return
		}
		if want := groups; len(want) > 0 && want[0] == tls.CurveP256 && !c.ConnectionState().HelloRetryRequest {
			t.Errorf("expected a HelloRetryRequest offering %v", groups)
		}
		buf := make([]byte, 6)
		_, _ = c.Read(buf)
		c.Close()
	}
	for range hybrid {
		dial(nil)
	}
	for range hrr {
		dial([]tls.CurveID{tls.CurveP256, tls.CurveP384})
	}
	for range classical {
		dial([]tls.CurveID{tls.X25519})
	}
	for range garbage {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Read(make([]byte, 64))
		c.Close()
	}
}

// startTunnel starts a server-mode pqtls tunnel (policy prefer) in front of
// a TCP echo server, with its /metrics endpoint. It returns the tunnel's TLS
// address and its metrics address.
func startTunnel(t *testing.T, ca *testpki.CA) (string, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 0, func(c net.Conn) { _, _ = io.Copy(c, c) })
	files := ca.Server(t, testpki.CertOptions{}).WriteFiles(t, t.TempDir())
	tun, err := tunnel.Start(context.Background(), tunnel.Config{
		Listeners: []tunnel.ListenerConfig{{Name: "echo", Mode: tunnel.ModeServer, Listen: "127.0.0.1:0",
			Target: ln.Addr().String(), Cert: files.Cert, Key: files.Key}},
		Metrics: "127.0.0.1:0",
	}, tunnel.Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tun.Close() })
	return tun.Listeners()[0].Addr().String(), tun.MetricsAddr().String()
}

// tunnelTraffic sends one line through the tunnel per connection: hybrid
// connections from default Go clients, classical ones from X25519-only
// clients; the echo must come back.
func tunnelTraffic(t *testing.T, addr string, ca *testpki.CA, hybrid, classical int) {
	t.Helper()
	conn := func(groups []tls.CurveID) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
			&tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", CurvePreferences: groups})
		if err != nil {
			t.Errorf("through the tunnel (groups %v): %v", groups, err)
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		msg := "ping through pqtls tunnel\n"
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Error(err)
			return
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Errorf("echo through the tunnel: %q, %v", buf, err)
		}
	}
	for range hybrid {
		conn(nil)
	}
	for range classical {
		conn([]tls.CurveID{tls.X25519})
	}
}

// promJobs turns the jobs of deploy/prometheus/prometheus.example.yml into
// the test's: same relabelling, parameters and target labels, local
// addresses. The pqtls-observe job is dropped (pqtls observe has its own
// tests).
func promJobs(t *testing.T, exporterAddr string, probeTargets map[string][]string, services, tunnels []string) []testpeer.PrometheusJob {
	t.Helper()
	var jobs []testpeer.PrometheusJob
	for _, raw := range shippedJobs(t, "prometheus.example.yml") {
		job := jobOf(t, raw)
		example := job.StaticConfigs
		job.StaticConfigs = nil
		switch job.Name {
		case "pqtls-probe":
			for module, targets := range probeTargets {
				g := map[string]any{"targets": targets}
				if module != "" {
					g["labels"] = map[string]any{"module": module}
				}
				job.StaticConfigs = append(job.StaticConfigs, g)
			}
			// The probes (enumeration included) need more than 1 s.
			job.Interval, job.Timeout = "3s", "3s"
			last := job.RelabelConfigs[len(job.RelabelConfigs)-1]
			if last["target_label"] != "__address__" {
				t.Fatalf("example's last pqtls-probe relabelling is not the exporter address: %v", last)
			}
			last["replacement"] = exporterAddr
		case "pqtls-exporter":
			job.Targets = []string{exporterAddr}
		case "pqtls-services":
			sc := example[0]
			sc["targets"] = services
			job.StaticConfigs = []map[string]any{sc}
		case "pqtls-tunnel":
			sc := example[0]
			sc["targets"] = tunnels
			job.StaticConfigs = []map[string]any{sc}
		default:
			continue
		}
		jobs = append(jobs, job)
	}
	if len(jobs) != 4 {
		t.Fatalf("example jobs: got %d of pqtls-probe, pqtls-exporter, pqtls-tunnel, pqtls-services", len(jobs))
	}
	return jobs
}

// TestInteropPrometheus scrapes, with a real Prometheus and the example
// configuration, the exporter probing a Node.js 26 hybrid server, a
// classical nginx and a closed port, plus an instrumented pqtls server and a
// pqtls tunnel with traffic through them. It checks the probe metrics, the recording rules, that every rule
// evaluates, and that every Grafana panel query runs.
func TestInteropPrometheus(t *testing.T) {
	testpeer.Require(t, testpeer.PeerNode, testpeer.PeerNginx, testpeer.PeerPrometheus)
	ca := testpki.NewCA(t)
	node := testpeer.NodeServer(t, testpeer.NodeServerOptions{Cert: ca.Server(t, testpki.CertOptions{})})
	nginx := testpeer.Nginx(t, testpeer.NginxOptions{Cert: ca.Server(t, testpki.CertOptions{}), ECDHCurve: "X25519:prime256v1"}).Addr
	closed := closedPort(t)
	silent := silentServer(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	cfg, err := ParseConfig([]byte("modules:\n  default:\n    timeout: 5s\n    ca_file: "+caFile+
		"\n  enumerate:\n    timeout: 5s\n    ca_file: "+caFile+"\n    enumerate: true\n"+
		"  slow:\n    timeout: 60s\n  require_hybrid:\n    policy: require\n    ca_file: "+caFile+"\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	exp, err := New(Options{Config: cfg, Registerer: reg, Version: "interop", Enumerator: scanEnumerate})
	if err != nil {
		t.Fatal(err)
	}
	exporterAddr := serveHTTP(t, exp.Handler(reg))

	svc := startInstrumented(t, ca)
	tunAddr, tunMetrics := startTunnel(t, ca)
	// One handshake of each kind before Prometheus starts, so every series
	// has a sample before the measured traffic.
	svc.traffic(t, 1, 1, 1, 1)
	tunnelTraffic(t, tunAddr, ca, 1, 1)
	// pqtls observe on two "nodes" (the DaemonSet's pods), scraped with
	// the shipped observe scrape config: node-a sees hybrid and classical
	// traffic, node-b classical only.
	pqtlsBin := testpeer.PQTLSBinary(t)
	nodeA, nodeB := startObserveNode(t, pqtlsBin, "node-a"), startObserveNode(t, pqtlsBin, "node-b")
	nodeA.log(t, 1, 1)
	nodeB.log(t, 0, 1)

	p := testpeer.Prometheus(t, testpeer.PrometheusOptions{
		Jobs: append(promJobs(t, exporterAddr,
			map[string][]string{"": {node.Addr, nginx, closed}, "enumerate": {node.Addr, nginx}, "slow": {silent}, "require_hybrid": {node.Addr, nginx}},
			[]string{svc.metricsAddr}, []string{tunMetrics}), observeJob(t, nodeA, nodeB)),
		RuleFiles: []string{filepath.Join(deployDir, "rules", "pqtls-recording.yml"), filepath.Join(deployDir, "rules", "pqtls-alerts.yml")},
	})

	// Every target up (the closed port's probe is up: the exporter answers).
	// A silent server probed with a 60 s module timeout stays up: the
	// exporter ends the probe within Prometheus' 3 s scrape timeout.
	waitFor(t, p, `count(up == 1)`, 60*time.Second, func(v []testpeer.Sample) bool { return v[0].Value == 13 })
	// Wait for a scrape of the instrumented server after the warm-up.
	waitFor(t, p, `tls_handshake_group_total{job="pqtls-services",role="server",kind="classical"}`, 30*time.Second,
		func(v []testpeer.Sample) bool { return v[0].Value == 1 })
	waitFor(t, p, `tls_handshake_group_total{job="pqtls-tunnel",role="server",kind="classical"}`, 30*time.Second,
		func(v []testpeer.Sample) bool { return v[0].Value == 1 })
	for _, n := range []string{"node-a", "node-b"} {
		waitFor(t, p, `tls_handshake_group_total{job="pqtls-observe",node="`+n+`",instance="`+n+`",role="observed",group="x25519"}`, 30*time.Second,
			func(v []testpeer.Sample) bool { return v[0].Value == 1 })
	}
	time.Sleep(2 * time.Second) // a second scrape of the same values
	svc.traffic(t, 20, 10, 10, 2)
	tunnelTraffic(t, tunAddr, ca, 9, 3)
	nodeA.log(t, 3, 1)
	nodeB.log(t, 0, 2)
	waitFor(t, p, `sum(tls_handshake_group_total{job="pqtls-observe",role="observed"})`, 30*time.Second,
		func(v []testpeer.Sample) bool { return v[0].Value == 9 })
	waitFor(t, p, `sum(tls_handshake_group_total{job="pqtls-services",role="server"})`, 30*time.Second,
		func(v []testpeer.Sample) bool { return v[0].Value == 43 })
	waitFor(t, p, `sum(tls_handshake_group_total{job="pqtls-tunnel",role="server"})`, 30*time.Second,
		func(v []testpeer.Sample) bool { return v[0].Value == 14 })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	one := func(expr string) float64 {
		t.Helper()
		vec, err := p.Query(ctx, expr)
		if err != nil {
			t.Fatal(err)
		}
		if len(vec) != 1 {
			t.Fatalf("%s: %d samples, want 1: %v", expr, len(vec), vec)
		}
		return vec[0].Value
	}
	near := func(expr string, want float64) {
		t.Helper()
		if got := one(expr); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", expr, got, want)
		}
	}

	t.Run("probes", func(t *testing.T) {
		// Default module (no module label).
		sel := func(target string) string { return `job="pqtls-probe",instance="` + target + `",module=""` }
		waitFor(t, p, `probe_tls_group_info{`+sel(node.Addr)+`}`, 20*time.Second, anySample)
		near(`probe_success{`+sel(node.Addr)+`}`, 1)
		near(`probe_tls_group_info{`+sel(node.Addr)+`,group="x25519_mlkem768",kind="hybrid"}`, 1)
		near(`probe_tls_version_info{`+sel(node.Addr)+`,version="TLS 1.3"}`, 1)
		near(`probe_tls_pq_ready{`+sel(node.Addr)+`}`, 1)
		near(`probe_tls_hello_retry{`+sel(node.Addr)+`}`, 0)
		if b := one(`probe_tls_client_hello_bytes{` + sel(node.Addr) + `}`); b < 1200 {
			t.Errorf("ClientHello to Node: %v bytes, want a hybrid-sized one", b)
		}
		near(`probe_ssl_earliest_cert_expiry{`+sel(node.Addr)+`}`, float64(node.Cert.Leaf.NotAfter.Unix()))

		near(`probe_success{`+sel(nginx)+`}`, 1)
		near(`probe_tls_group_info{`+sel(nginx)+`,group="x25519",kind="classical"}`, 1)
		near(`probe_tls_pq_ready{`+sel(nginx)+`}`, 0)

		near(`probe_success{`+sel(closed)+`}`, 0)
		near(`probe_tls_pq_ready{`+sel(closed)+`}`, 0)
		near(`probe_tls_failure_info{`+sel(closed)+`,phase="connect",reason="connection_refused"}`, 1)

		esel := func(target string) string { return `job="pqtls-probe",instance="` + target + `",module="enumerate"` }
		waitFor(t, p, `probe_tls_group_supported{`+esel(nginx)+`}`, 20*time.Second, anySample)
		near(`probe_tls_group_supported{`+esel(node.Addr)+`,group="x25519_mlkem768",kind="hybrid"}`, 1)
		near(`probe_tls_group_supported{`+esel(node.Addr)+`,group="x25519"}`, 1)
		near(`probe_tls_group_supported{`+esel(node.Addr)+`,group="mlkem512"}`, 0)
		near(`probe_tls_large_client_hello_ok{`+esel(node.Addr)+`}`, 1)
		near(`probe_tls_group_supported{`+esel(nginx)+`,group="x25519_mlkem768"}`, 0)
		near(`probe_tls_group_supported{`+esel(nginx)+`,group="x25519"}`, 1)
		near(`probe_tls_group_supported{`+esel(nginx)+`,group="secp256r1"}`, 1)
		near(`probe_tls_group_supported{`+esel(nginx)+`,group="secp384r1"}`, 0)
		near(`probe_tls_large_client_hello_ok{`+esel(nginx)+`}`, 1)

		// The scrape timeout header bounded the silent target's probe.
		ssel := `job="pqtls-probe",instance="` + silent + `",module="slow"`
		near(`up{`+ssel+`}`, 1)
		near(`probe_success{`+ssel+`}`, 0)
		near(`probe_tls_failure_info{`+ssel+`,phase="handshake",reason="timeout"}`, 1)
		if d := one(`probe_duration_seconds{` + ssel + `}`); d >= 3 {
			t.Errorf("silent target probe took %v s, not bounded by the 3 s scrape timeout", d)
		}

		// policy require against real peers: Node 26 passes, nginx
		// (OpenSSL 3.0, classical) is refused before key exchange.
		rsel := func(target string) string {
			return `job="pqtls-probe",instance="` + target + `",module="require_hybrid"`
		}
		near(`probe_success{`+rsel(node.Addr)+`}`, 1)
		near(`probe_tls_group_info{`+rsel(node.Addr)+`,group="x25519_mlkem768"}`, 1)
		near(`probe_success{`+rsel(nginx)+`}`, 0)
		near(`probe_tls_failure_info{`+rsel(nginx)+`,phase="handshake",reason="policy_classical_peer"}`, 1)

		// Figures for the report (not asserted: wall clock).
		if vec, err := p.Query(ctx, `probe_duration_seconds{job="pqtls-probe"}`); err == nil {
			for _, v := range vec {
				t.Logf("probe_duration_seconds instance=%s module=%q: %.4f", v.Metric["instance"], v.Metric["module"], v.Value)
			}
		}
		if vec, err := p.Query(ctx, `probe_tls_client_hello_bytes{job="pqtls-probe"}`); err == nil {
			for _, v := range vec {
				t.Logf("probe_tls_client_hello_bytes instance=%s module=%q: %v", v.Metric["instance"], v.Metric["module"], v.Value)
			}
		}

		// Exporter health.
		if n := one(`sum(pqtls_exporter_probes_total{job="pqtls-exporter",module="default",result="success"})`); n < 2 {
			t.Errorf("probes_total success = %v", n)
		}
		near(`pqtls_exporter_config_last_reload_successful{job="pqtls-exporter"}`, 1)
		near(`count(pqtls_exporter_build_info{version="interop"})`, 1)
	})

	t.Run("recording_rules", func(t *testing.T) {
		// After the warm-up: 20 hybrid handshakes, 10 secp384r1 after a
		// HelloRetryRequest and 10 x25519.
		share := `job_role:tls_handshake_hybrid_share:ratio_rate5m{job="pqtls-services",role="server"}`
		waitFor(t, p, share, 20*time.Second, func(v []testpeer.Sample) bool { return math.Abs(v[0].Value-0.5) < 1e-9 })
		waitFor(t, p, `job_role:tls_handshake_hello_retry:ratio_rate5m{job="pqtls-services",role="server"}`, 20*time.Second,
			func(v []testpeer.Sample) bool { return math.Abs(v[0].Value-0.25) < 1e-9 })
		waitFor(t, p, `job_role_reason:tls_handshake_errors:rate5m{job="pqtls-services",role="server",reason="not_tls"}`, 20*time.Second,
			func(v []testpeer.Sample) bool { return v[0].Value > 0 })
		waitFor(t, p, `job_role_group:tls_handshake_duration_seconds:p99_rate5m{job="pqtls-services",group="x25519_mlkem768"}`, 20*time.Second,
			func(v []testpeer.Sample) bool { f := v[0].Value; return f > 0 && f < 10 })
		// PQ-ready: node with the default, enumerate and require_hybrid
		// modules; not nginx (3 modules), the closed port, the silent
		// server: 3/8.
		waitFor(t, p, `job:probe_tls_pq_ready:ratio{job="pqtls-probe"}`, 20*time.Second,
			func(v []testpeer.Sample) bool { return math.Abs(v[0].Value-0.375) < 1e-9 })
	})

	t.Run("tunnel", func(t *testing.T) {
		tsel := `job="pqtls-tunnel",listener="echo"`
		waitFor(t, p, `pqtls_tunnel_connections_total{`+tsel+`,result="proxied"}`, 20*time.Second,
			func(v []testpeer.Sample) bool { return v[0].Value == 14 })
		// 14 lines of 26 bytes each way.
		near(`pqtls_tunnel_bytes_total{`+tsel+`,direction="to_target"}`, 14*26)
		near(`pqtls_tunnel_bytes_total{`+tsel+`,direction="from_target"}`, 14*26)
		// The example's target labels came through.
		near(`count(tls_handshake_group_total{job="pqtls-tunnel",service="postgres",pq_policy="require"})`, 2)
		// After the warm-up: 9 hybrid, 3 classical.
		waitFor(t, p, `job_role:tls_handshake_hybrid_share:ratio_rate5m{job="pqtls-tunnel",role="server"}`, 20*time.Second,
			func(v []testpeer.Sample) bool { return math.Abs(v[0].Value-0.75) < 1e-9 })
	})

	t.Run("rules_evaluate", func(t *testing.T) {
		// Every recording and alerting rule evaluated without error against
		// real data.
		var r struct {
			Data struct {
				Groups []struct {
					Name  string `json:"name"`
					Rules []struct {
						Name, Health, LastError, Type string
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		// Every rule of the shipped files, counted from the files themselves.
		want := 0
		files, _ := filepath.Glob("../deploy/prometheus/rules/*.yml")
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want += len(regexp.MustCompile(`(?m)^\s+- (alert|record):`).FindAll(b, -1))
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			data, err := p.API(ctx, "rules", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &r.Data); err != nil {
				t.Fatal(err)
			}
			var bad []string
			n := 0
			for _, g := range r.Data.Groups {
				for _, rule := range g.Rules {
					n++
					if rule.Health != "ok" {
						bad = append(bad, rule.Name+": "+rule.Health+" "+rule.LastError)
					}
				}
			}
			if n == want && want > 0 && len(bad) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d rules loaded (want %d, the rules of %v), unhealthy: %v", n, want, files, bad)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})

	t.Run("grafana_panels", func(t *testing.T) {
		exprs := dashboardExprs(t)
		if len(exprs) < 15 {
			t.Fatalf("only %d panel queries found in deploy/grafana/pqtls.json", len(exprs))
		}
		for _, e := range exprs {
			q := concreteExpr(e.expr)
			vec, err := p.Query(ctx, q)
			if err != nil {
				t.Errorf("panel %q: %v", e.panel, err)
				continue
			}
			if err := queryRange(ctx, p, q); err != nil {
				t.Errorf("panel %q: %v", e.panel, err)
			}
			// Every panel has data here.
			if len(vec) == 0 {
				t.Errorf("panel %q: query %s returned no data", e.panel, q)
			}
		}
		// The fleet share stat, for the instrumented server's job, reads 0.5
		// over the test's traffic (all within the 5m window). (Across jobs
		// the rates of different targets are extrapolated over different
		// sample times, so the fleet value is only close to 29/52.)
		share := dashboardExprs(t)[0]
		if share.panel != "Hybrid share of handshakes (fleet)" {
			t.Fatalf("first panel is %q", share.panel)
		}
		q := strings.ReplaceAll(concreteExpr(share.expr), `job=~".*",role=~".*"`, `job="pqtls-services",role="server"`)
		vec, err := p.Query(ctx, q)
		if err != nil || len(vec) != 1 || math.Abs(vec[0].Value-0.5) > 1e-9 {
			t.Errorf("fleet share panel: %v %v, want 0.5", vec, err)
		}
		// The per-node row: after the warm-up node-a saw 3 hybrid and 1
		// classical handshakes, node-b 2 classical (and reads 0, not blank).
		perNode := panelQuery(t, "Observed hybrid share by node")
		vec, err = p.Query(ctx, perNode)
		got := map[string]float64{}
		for _, v := range vec {
			got[v.Metric["node"]] = v.Value
		}
		if err != nil || len(got) != 2 || math.Abs(got["node-a"]-0.75) > 1e-9 || got["node-b"] != 0 {
			t.Errorf("per-node share panel %s: %v %v, want node-a 0.75, node-b 0", perNode, vec, err)
		}
		byGroup := panelQuery(t, "Observed handshakes by node and group")
		vec, err = p.Query(ctx, byGroup)
		seen := map[string]bool{}
		for _, v := range vec {
			if v.Value > 0 {
				seen[v.Metric["node"]+" "+v.Metric["group"]] = true
			}
		}
		if err != nil || len(seen) != 3 || !seen["node-a x25519_mlkem768"] || !seen["node-a x25519"] || !seen["node-b x25519"] {
			t.Errorf("per-node group panel %s: %v %v, want node-a x25519_mlkem768 and x25519, node-b x25519", byGroup, vec, err)
		}
	})
}

type panelExpr struct{ panel, expr string }

// dashboardExprs returns every query of every panel of the dashboard.
func dashboardExprs(t *testing.T) []panelExpr {
	t.Helper()
	raw, err := os.ReadFile("../deploy/grafana/pqtls.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
			Panels []json.RawMessage `json:"panels"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	var out []panelExpr
	for _, p := range dash.Panels {
		if p.Type == "row" {
			if len(p.Panels) > 0 {
				t.Fatalf("collapsed row %q: its panels would escape the check", p.Title)
			}
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				t.Errorf("panel %q has an empty query", p.Title)
			}
			out = append(out, panelExpr{p.Title, tg.Expr})
		}
	}
	return out
}

// panelQuery returns the concrete query of the panel titled title (its
// first target).
func panelQuery(t *testing.T, title string) string {
	t.Helper()
	for _, e := range dashboardExprs(t) {
		if e.panel == title {
			return concreteExpr(e.expr)
		}
	}
	t.Fatalf("no panel %q in deploy/grafana/pqtls.json", title)
	return ""
}

var leftoverVar = regexp.MustCompile(`\$\{?\w+`)

// concreteExpr replaces the dashboard variables with what Grafana would
// send for "All" and a 5 m rate interval.
func concreteExpr(e string) string {
	r := strings.NewReplacer("$__rate_interval", "5m", "$__range", "5m", "$probe_job", ".*", "$job", ".*", "$role", ".*", "$node", ".*")
	return r.Replace(e)
}

func TestDashboardVariablesAllReplaced(t *testing.T) {
	for _, e := range dashboardExprs(t) {
		if v := leftoverVar.FindString(concreteExpr(e.expr)); v != "" {
			t.Errorf("panel %q: variable %s is not replaced by the interop test", e.panel, v)
		}
	}
}
