package exporter

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/httpserve"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

const fleetDir = "../deploy/prometheus/fleet"

// Fleet test sizes: a known mix of hybrid-capable and classical-only
// endpoints, split over fleetShards Prometheus shards.
const (
	fleetHybrid    = 600
	fleetClassical = 400
	fleetShards    = 2
	// fleetMaxProbes is max_concurrent_probes as a deployment sizes it:
	// above probes/s x probe latency with margin (33/s x up to 2 s on this
	// loaded machine; 64 refused 15% of the scrapes with 503), well below
	// the descriptor limit. It is the default, 256.
	fleetMaxProbes = 256
	// fleetScrapeInterval spreads the 1,000 probes to about 33 probes/s.
	// On the shared 2-core machine (load average 16-43) 500 probes/s (2 s)
	// and even 100 probes/s (10 s) overloaded the test process: probes
	// took seconds, max_concurrent_probes filled and most scrapes got 503
	// or timed out. docs/FLEET.md sizes the interval from the measured
	// probe cost.
	fleetScrapeInterval = 30 * time.Second
	fleetScrapeTimeout  = 10 * time.Second
)

// raiseNoFile raises the soft RLIMIT_NOFILE to need (at most the hard
// limit) and skips the test when that is not enough.
func raiseNoFile(t *testing.T, need uint64) {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur >= need {
		return
	}
	rl.Cur = min(need, rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < need {
		t.Skipf("RLIMIT_NOFILE %d (hard %d) is below the %d descriptors this test needs", rl.Cur, rl.Max, need)
	}
}

// fleetEndpoints starts one TLS listener per endpoint on 127.0.0.1: hybrid
// ones run pqtls policy prefer, classical ones offer X25519 only. It returns
// the addresses and whether each is hybrid.
func fleetEndpoints(t testing.TB, ca *testpki.CA, nHybrid, nClassical int) (addrs []string, hybrid map[string]bool) {
	t.Helper()
	cert := ca.Server(t, testpki.CertOptions{})
	pol, _, err := pqtls.ParsePolicy("prefer", "", "")
	if err != nil {
		t.Fatal(err)
	}
	hyCfg, err := pqtls.ServerConfig(pqtls.Options{Policy: pol, Base: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}})
	if err != nil {
		t.Fatal(err)
	}
	clCfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS}, CurvePreferences: []tls.CurveID{tls.X25519}}
	hybrid = map[string]bool{}
	for i := range nHybrid + nClassical {
		cfg := clCfg
		if i < nHybrid {
			cfg = hyCfg
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
		if err != nil {
			t.Fatalf("endpoint %d: %v", i, err)
		}
		testpeer.Serve(t, ln, 10*time.Second, func(c net.Conn) {
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_ = c.(*tls.Conn).Handshake()
		})
		addrs = append(addrs, ln.Addr().String())
		hybrid[ln.Addr().String()] = i < nHybrid
	}
	return addrs, hybrid
}

// shardJob returns the pqtls-probe job of the shipped shard.yml for shard
// k, reading targets from the file_sd files in sdDir. Only the keep regex
// changes per shard, as the file says.
func shardJob(t *testing.T, k int, sdDir string) testpeer.PrometheusJob {
	t.Helper()
	for _, job := range shippedJobs(t, "fleet/shard.yml") {
		if job["job_name"] != "pqtls-probe" {
			continue
		}
		keeps := 0
		for _, r := range job["relabel_configs"].([]any) {
			rc := r.(map[string]any)
			if rc["action"] == "hashmod" && rc["modulus"] != fleetShards {
				t.Fatalf("shard.yml: modulus %v, the test runs %d shards", rc["modulus"], fleetShards)
			}
			if rc["action"] == "keep" && fmt.Sprint(rc["source_labels"]) == "[__tmp_hash]" {
				rc["regex"] = strconv.Itoa(k)
				keeps++
			}
		}
		if keeps != 1 {
			t.Fatalf("shard.yml: %d keep rules on __tmp_hash, want 1", keeps)
		}
		job["file_sd_configs"] = []map[string]any{{"files": []string{filepath.Join(sdDir, "*.json")}, "refresh_interval": "1s"}}
		pj := jobOf(t, job)
		pj.Interval, pj.Timeout = fleetScrapeInterval.String(), fleetScrapeTimeout.String()
		return pj
	}
	t.Fatal("shard.yml has no pqtls-probe job")
	return testpeer.PrometheusJob{}
}

// instances returns the instance label of every sample.
func instances(vec []testpeer.Sample) map[string]bool {
	out := map[string]bool{}
	for _, s := range vec {
		out[s.Metric["instance"]] = true
	}
	return out
}

// TestInteropFleetSharding runs the deploy/prometheus/fleet topology with
// real processes: one exporter (allowed_targets 127.0.0.0/8,
// max_concurrent_probes 64) in front of 1,000 loopback endpoints (600
// hybrid, 400 classical) listed in file_sd files, two Prometheus shards
// built from shard.yml (hashmod), and a global Prometheus federating them
// with global.yml's job and the fleet rules. Every endpoint is probed by
// exactly one shard, the global hybrid share is exactly 0.6, and a stopped
// shard trips the PqtlsShardDown expression.
func TestInteropFleetSharding(t *testing.T) {
	testpeer.Require(t, testpeer.PeerPrometheus)
	raiseNoFile(t, 8192)
	total := fleetHybrid + fleetClassical
	ca := testpki.NewCA(t)
	addrs, hybrid := fleetEndpoints(t, ca, fleetHybrid, fleetClassical)

	exporterAddr, reg := startFleetExporter(t, ca)
	sdDir := writeFleetSD(t, addrs, exporterAddr)

	start := time.Now()
	cpu0 := processCPU(t)
	var shards []*testpeer.PrometheusPeer
	for k := range fleetShards {
		shards = append(shards, testpeer.Prometheus(t, testpeer.PrometheusOptions{
			Jobs:           []testpeer.PrometheusJob{shardJob(t, k, sdDir)},
			ScrapeInterval: fleetScrapeInterval,
			ExternalLabels: map[string]string{"shard": strconv.Itoa(k)},
		}))
	}
	global := testpeer.Prometheus(t, testpeer.PrometheusOptions{
		Jobs:           []testpeer.PrometheusJob{globalJob(t, shards)},
		ScrapeInterval: 2 * time.Second,
		RuleFiles: []string{filepath.Join(deployDir, "rules", "pqtls-recording.yml"), filepath.Join(deployDir, "rules", "pqtls-alerts.yml"),
			filepath.Join(fleetDir, "rules", "pqtls-fleet.yml")},
	})

	// Every endpoint is probed by exactly one shard: the shards' instance
	// sets never intersect, and their union becomes the whole fleet.
	// A round is 30 s and one slow probe on the loaded machine delays the
	// complete picture by a round: allow four.
	deadline := time.Now().Add(130 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(20*time.Second))
	defer cancel()
	sets := waitShardPartition(t, ctx, shards, addrs, reg, deadline)
	t.Logf("all %d endpoints probed after %v: shard 0 %d, shard 1 %d", total, time.Since(start).Round(time.Second), len(sets[0]), len(sets[1]))

	// Each shard sees the right group per endpoint.
	for k, p := range shards {
		vec, err := p.Query(ctx, `probe_tls_pq_ready{job="pqtls-probe"}`)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range vec {
			if want := hybrid[s.Metric["instance"]]; (s.Value == 1) != want {
				t.Errorf("shard %d: %s probe_tls_pq_ready %v, hybrid endpoint %v", k, s.Metric["instance"], s.Value, want)
			}
		}
	}

	// The global view: the first evaluation of the fleet share after every
	// endpoint succeeded for 6 s in a row is exactly 600/1000.
	ready := fmt.Sprintf(`fleet:probe_tls_pq_ready:ratio and on () (min_over_time((count(probe_success{job="pqtls-probe"} == 1))[6s:1s]) == %d)`, total)
	v := waitFor(t, global, ready, time.Until(deadline)+20*time.Second, anySample)
	if want := float64(fleetHybrid) / float64(total); v[0].Value != want {
		t.Fatalf("fleet hybrid share %v, want exactly %v", v[0].Value, want)
	}
	one := func(expr string) []testpeer.Sample {
		t.Helper()
		vec, err := global.Query(ctx, expr)
		if err != nil {
			t.Fatal(err)
		}
		return vec
	}
	for _, s := range one(`shard:probe_success:count`) {
		k, _ := strconv.Atoi(s.Metric["shard"])
		if s.Value != float64(len(sets[k])) {
			t.Errorf("global shard:probe_success:count{shard=%q} = %v, shard %d has %d", s.Metric["shard"], s.Value, k, len(sets[k]))
		}
	}
	if v := one(`fleet:probe_duplicate_targets:count`); len(v) != 1 || v[0].Value != 0 {
		t.Errorf("fleet:probe_duplicate_targets:count = %v, want 0", v)
	}
	// The reused deploy/prometheus rule (avg) agrees within rounding.
	if v := one(`job:probe_tls_pq_ready:ratio{job="pqtls-probe"}`); len(v) != 1 || v[0].Value < 0.6-1e-9 || v[0].Value > 0.6+1e-9 {
		t.Errorf("job:probe_tls_pq_ready:ratio = %v, want 0.6", v)
	}
	// The exporter refused nothing and ran within its cap.
	probes, refused := exporterCounters(t, reg)
	if refused != 0 {
		t.Errorf("exporter refused %v probes (allowed_targets or max_concurrent_probes)", refused)
	}
	cpu := processCPU(t) - cpu0
	t.Logf("fleet cost: %.0f probes in %v, %.1f probes/s; test process CPU %.1f s (exporter client side + 1,000 TLS servers + HTTP) = %.0f probes per CPU-second",
		probes, time.Since(start).Round(time.Second), probes/time.Since(start).Seconds(), cpu.Seconds(), probes/cpu.Seconds())

	// Stop shard 1: PqtlsShardDown's expression names it at the next
	// federation scrape. (Its federated series keep their timestamps, so
	// they linger for the 5 m lookback delta before
	// PqtlsShardStoppedReporting can see the gap: promtool covers that.)
	shards[1].Proc.Stop()
	waitFor(t, global, `up{job="pqtls-shards"} == 0`, 30*time.Second,
		func(v []testpeer.Sample) bool { return len(v) == 1 && v[0].Metric["instance"] == shards[1].Addr })
	if v := one(`up{job="pqtls-shards"} == 1`); len(v) != 1 || v[0].Metric["instance"] != shards[0].Addr {
		t.Errorf("after stopping shard 1, up == 1 for %v, want shard 0 only", v)
	}
}

// waitShardPartition polls the shards until their successful probes cover
// every address, failing at once when two shards probe the same endpoint
// and at the deadline (after logging why) when some are never probed. It
// returns each shard's instance set.
func waitShardPartition(t *testing.T, ctx context.Context, shards []*testpeer.PrometheusPeer, addrs []string, reg prometheus.Gatherer, deadline time.Time) []map[string]bool {
	t.Helper()
	var sets []map[string]bool
	for {
		sets = sets[:0]
		union := map[string]bool{}
		for k, p := range shards {
			vec, err := p.Query(ctx, `probe_success{job="pqtls-probe"} == 1`)
			if err != nil {
				t.Fatalf("shard %d: %v", k, err)
			}
			set := instances(vec)
			for inst := range set {
				for j, other := range sets {
					if other[inst] {
						t.Fatalf("endpoint %s probed by shards %d and %d", inst, j, k)
					}
				}
				union[inst] = true
			}
			sets = append(sets, set)
		}
		if len(union) == len(addrs) {
			break
		}
		if time.Now().After(deadline) {
			logFleetState(t, ctx, shards, reg)
			t.Fatalf("%v before the deadline the shards probe %d of %d endpoints successfully (per shard: %d, %d)",
				time.Until(deadline).Round(time.Second), len(union), len(addrs), len(sets[0]), len(sets[1]))
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, a := range addrs {
		if !sets[0][a] && !sets[1][a] {
			t.Fatalf("endpoint %s probed by no shard", a)
		}
	}
	if len(sets[0]) == 0 || len(sets[1]) == 0 {
		t.Fatalf("hashmod gave one shard everything: %d / %d", len(sets[0]), len(sets[1]))
	}
	for _, a := range addrs {
		if !sets[0][a] && !sets[1][a] {
			t.Fatalf("endpoint %s probed by no shard", a)
		}
	}
	if len(sets[0]) == 0 || len(sets[1]) == 0 {
		t.Fatalf("hashmod gave one shard everything: %d / %d", len(sets[0]), len(sets[1]))
	}
	return sets
}

// logFleetState logs each shard's scrape state and errors and the
// exporter's counters, to show why endpoints were not probed.
func logFleetState(t *testing.T, ctx context.Context, shards []*testpeer.PrometheusPeer, reg prometheus.Gatherer) {
	t.Helper()
	for k, p := range shards {
		for _, q := range []string{`count(up)`, `count(up == 0)`, `count by (phase, reason) (probe_tls_failure_info)`, `count(probe_success == 0)`} {
			vec, err := p.Query(ctx, q)
			t.Logf("shard %d: %s = %v %v", k, q, vec, err)
		}
		raw, err := p.API(ctx, "targets", nil)
		errs := map[string]int{}
		var tg struct {
			ActiveTargets []struct{ LastError string } `json:"activeTargets"`
		}
		_ = json.Unmarshal(raw, &tg)
		for _, a := range tg.ActiveTargets {
			errs[a.LastError]++
		}
		t.Logf("shard %d: scrape errors %v %v", k, errs, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		t.Logf("exporter: %s %v", mf.GetName(), mf.GetMetric())
	}
}

// startFleetExporter serves an exporter like 'pqtls exporter' does
// (internal/httpserve limits) with allowed_targets 127.0.0.0/8 and
// max_concurrent_probes fleetMaxProbes, and returns its address and
// registry.
func startFleetExporter(t *testing.T, ca *testpki.CA) (string, *prometheus.Registry) {
	t.Helper()
	caFile := ca.WriteCertFile(t, t.TempDir())
	cfg, err := ParseConfig([]byte(fmt.Sprintf("allowed_targets: [127.0.0.0/8]\nmax_concurrent_probes: %d\n"+
		"modules:\n  default:\n    timeout: 9s\n    ca_file: %s\n", fleetMaxProbes, caFile)), "")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	exp, err := New(Options{Config: cfg, Registerer: reg, Version: "fleet"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rejected, err := httpserve.NewRejectedCounter(reg, "exporter")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpserve.Serve(ln, exp.Handler(reg), httpserve.Options{Rejected: rejected})
	t.Cleanup(func() { _ = srv.Close() })
	exporterAddr := ln.Addr().String()

	return exporterAddr, reg
}

// writeFleetSD writes a file_sd file of two target groups (segments a and
// b), each naming the exporter in the `exporter` label, and returns its
// directory.
func writeFleetSD(t *testing.T, addrs []string, exporterAddr string) string {
	t.Helper()
	sdDir := t.TempDir()
	half := len(addrs) / 2
	groups := []map[string]any{
		{"targets": addrs[:half], "labels": map[string]string{"segment": "a", "exporter": exporterAddr}},
		{"targets": addrs[half:], "labels": map[string]string{"segment": "b", "exporter": exporterAddr}},
	}
	sd, _ := json.Marshal(groups)
	if err := os.WriteFile(filepath.Join(sdDir, "targets.json"), sd, 0o644); err != nil {
		t.Fatal(err)
	}
	return sdDir
}

// globalJob returns global.yml's federation job pointed at the shards.
func globalJob(t *testing.T, shards []*testpeer.PrometheusPeer) testpeer.PrometheusJob {
	t.Helper()
	jobs := shippedJobs(t, "fleet/global.yml")
	if len(jobs) != 1 || jobs[0]["job_name"] != "pqtls-shards" {
		t.Fatalf("global.yml: want one job pqtls-shards, got %v", jobs)
	}
	delete(jobs[0], "static_configs")
	pj := jobOf(t, jobs[0])
	if !pj.HonorLabels || pj.MetricsPath != "/federate" || len(pj.Params["match[]"]) == 0 {
		t.Fatalf("global.yml: federation job lost honor_labels, /federate or match[]: %+v", pj)
	}
	for _, s := range shards {
		pj.Targets = append(pj.Targets, s.Addr)
	}
	pj.Interval, pj.Timeout = "2s", "2s"
	return pj
}

// exporterCounters returns the exporter's probes run and refused so far.
func exporterCounters(t *testing.T, g prometheus.Gatherer) (probes, refused float64) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "pqtls_exporter_probes_total":
				probes += m.GetCounter().GetValue()
			case "pqtls_exporter_probes_refused_total":
				refused += m.GetCounter().GetValue()
			}
		}
	}
	return probes, refused
}

// processCPU returns the user+system CPU time of this process.
func processCPU(t testing.TB) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestInteropFleetPromtool checks the fleet configuration and rules with
// promtool and runs their unit tests (each alert firing and not firing); a
// wrong expectation makes them fail.
func TestInteropFleetPromtool(t *testing.T) {
	testpeer.Require(t, testpeer.PeerPromtool)
	for _, args := range [][]string{
		{"check", "rules", filepath.Join(fleetDir, "rules", "pqtls-fleet.yml")},
		{"check", "config", filepath.Join(fleetDir, "shard.yml")},
		{"check", "config", filepath.Join(fleetDir, "global.yml")},
		{"test", "rules", filepath.Join(fleetDir, "tests", "pqtls-fleet.test.yml")},
	} {
		if out, err := promtool(t, args...); err != nil || !strings.Contains(out, "SUCCESS") {
			t.Fatalf("promtool %v: %v\n%s", args, err, out)
		}
	}
	src, err := os.ReadFile(filepath.Join(fleetDir, "tests", "pqtls-fleet.test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(filepath.Join(fleetDir, "rules"))
	mutated := strings.ReplaceAll(string(src), "../rules/", abs+"/")
	mutated = strings.Replace(mutated, `shard: "1"`, `shard: "0"`, 1)
	mf := filepath.Join(t.TempDir(), "mutated.test.yml")
	if err := os.WriteFile(mf, []byte(mutated), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := promtool(t, "test", "rules", mf); err == nil || !strings.Contains(out, "PqtlsShardStoppedReporting") {
		t.Errorf("a wrong expectation did not fail promtool test rules:\n%s", out)
	}
}

// BenchmarkFleetProbe measures the CPU cost of one exporter probe of a
// hybrid endpoint (HTTP /probe on loopback, the handshake, the metrics
// answer; the endpoint's side included) against the reference of the same
// handshake made directly by a Go client, in the same run. cpu-us/op is
// process CPU time (user+system) per operation, so it does not depend on
// other load on the machine; docs/FLEET.md records the figures.
//
//	go test -run '^$' -bench BenchmarkFleetProbe -benchtime 2000x ./exporter/
func BenchmarkFleetProbe(b *testing.B) {
	ca := testpki.NewCA(b)
	addrs, _ := fleetEndpoints(b, ca, 1, 0)
	caFile := ca.WriteCertFile(b, b.TempDir())
	cfg, err := ParseConfig([]byte("allowed_targets: [127.0.0.0/8]\nmodules:\n  default:\n    timeout: 5s\n    ca_file: "+caFile+"\n"), "")
	if err != nil {
		b.Fatal(err)
	}
	exp, err := New(Options{Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := httpserve.Serve(ln, exp.Handler(nil), httpserve.Options{})
	b.Cleanup(func() { _ = srv.Close() })
	url := "http://" + ln.Addr().String() + "/probe?target=" + addrs[0]
	client := &http.Client{Timeout: 10 * time.Second}
	cost := map[string]float64{}
	measure := func(name string, op func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			cpu0 := processCPU(b)
			for b.Loop() {
				op(b)
			}
			us := float64((processCPU(b) - cpu0).Microseconds()) / float64(b.N)
			b.ReportMetric(us, "cpu-us/op")
			cost[name] = us
		})
	}
	measure("exporter-probe", func(b *testing.B) {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "probe_tls_pq_ready 1") {
			b.Fatalf("probe did not negotiate hybrid:\n%s", body)
		}
	})
	measure("handshake-reference", func(b *testing.B) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addrs[0], &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	})
	if cost["handshake-reference"] > 0 {
		b.Logf("exporter probe / direct handshake CPU ratio: %.2f (%.0f vs %.0f us)", cost["exporter-probe"]/cost["handshake-reference"], cost["exporter-probe"], cost["handshake-reference"])
	}
}

// TestInteropFleetRemoteWrite runs the remote_write variant of the fleet
// topology: two shards built from shard.yml push what they probe (100
// endpoints, 60 hybrid) into a global Prometheus started with
// --web.enable-remote-write-receiver. The global view holds every endpoint
// once, labelled with its shard, and the fleet share is exactly 0.6.
func TestInteropFleetRemoteWrite(t *testing.T) {
	testpeer.Require(t, testpeer.PeerPrometheus)
	ca := testpki.NewCA(t)
	addrs, _ := fleetEndpoints(t, ca, 60, 40)
	exporterAddr, reg := startFleetExporter(t, ca)
	sdDir := writeFleetSD(t, addrs, exporterAddr)
	global := testpeer.Prometheus(t, testpeer.PrometheusOptions{
		Flags:     []string{"--web.enable-remote-write-receiver"},
		RuleFiles: []string{filepath.Join(fleetDir, "rules", "pqtls-fleet.yml")},
	})
	var shards []*testpeer.PrometheusPeer
	for k := range fleetShards {
		job := shardJob(t, k, sdDir)
		job.Interval, job.Timeout = "5s", "5s"
		shards = append(shards, testpeer.Prometheus(t, testpeer.PrometheusOptions{
			Jobs:           []testpeer.PrometheusJob{job},
			ScrapeInterval: 5 * time.Second,
			ExternalLabels: map[string]string{"shard": strconv.Itoa(k)},
			RemoteWrite:    []map[string]any{{"url": global.URL + "/api/v1/write", "queue_config": map[string]any{"batch_send_deadline": "1s"}}},
		}))
	}
	deadline := time.Now().Add(60 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(30*time.Second))
	defer cancel()
	sets := waitShardPartition(t, ctx, shards, addrs, reg, deadline)
	ready := fmt.Sprintf(`fleet:probe_tls_pq_ready:ratio and on () (min_over_time((count(probe_success{job="pqtls-probe"} == 1))[6s:1s]) == %d)`, len(addrs))
	v := waitFor(t, global, ready, time.Until(deadline)+30*time.Second, anySample)
	if v[0].Value != 0.6 {
		t.Fatalf("fleet hybrid share over remote_write %v, want exactly 0.6", v[0].Value)
	}
	vec, err := global.Query(ctx, `probe_success{job="pqtls-probe"}`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, s := range vec {
		inst, shard := s.Metric["instance"], s.Metric["shard"]
		k, err := strconv.Atoi(shard)
		if err != nil || k >= len(sets) || !sets[k][inst] {
			t.Errorf("global view: %s with shard label %q, not probed by that shard", inst, shard)
		}
		if prev, dup := seen[inst]; dup {
			t.Errorf("global view: %s from shards %s and %s", inst, prev, shard)
		}
		seen[inst] = shard
	}
	if len(seen) != len(addrs) {
		t.Errorf("global view holds %d of %d endpoints", len(seen), len(addrs))
	}
}

// shippedJobs reads the scrape_configs of a Prometheus file shipped in
// deploy/prometheus (path relative to it) as raw maps, for a test to edit
// before jobOf.
func shippedJobs(t *testing.T, file string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.ScrapeConfigs
}

// jobOf converts a raw scrape config into the test's job; keys the job type
// does not know (kubernetes_sd_configs) and scrape_interval (the tests set
// their own timing) are left out.
func jobOf(t *testing.T, raw map[string]any) testpeer.PrometheusJob {
	t.Helper()
	delete(raw, "scrape_interval")
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	var job testpeer.PrometheusJob
	if err := json.Unmarshal(b, &job); err != nil {
		t.Fatal(err)
	}
	return job
}
