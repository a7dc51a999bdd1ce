package testpeer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PrometheusJob is one scrape job.
type PrometheusJob struct {
	// Name is job_name.
	Name string `json:"job_name"`
	// Targets are "host:port" to scrape.
	Targets []string `json:"-"`
	// MetricsPath, default /metrics; "/probe" for a multi-target exporter.
	MetricsPath string `json:"metrics_path,omitempty"`
	// Scheme, default http.
	Scheme string `json:"scheme,omitempty"`
	// Params are URL parameters (e.g. {"module": {"hybrid"}}).
	Params map[string][]string `json:"params,omitempty"`
	// RelabelConfigs are raw relabel_configs entries (e.g. the blackbox
	// pattern target -> __param_target, __address__ -> exporter).
	RelabelConfigs []map[string]any `json:"relabel_configs,omitempty"`

	// StaticConfigs are raw static_configs entries (Targets adds one).
	StaticConfigs []map[string]any `json:"static_configs,omitempty"`
	// FileSDConfigs are raw file_sd_configs entries ({"files": [...]}).
	FileSDConfigs []map[string]any `json:"file_sd_configs,omitempty"`
	// HonorLabels keeps the scraped labels on conflict (federation).
	HonorLabels bool `json:"honor_labels,omitempty"`
	// Interval and Timeout override scrape_interval / scrape_timeout ("2s").
	Interval string `json:"scrape_interval,omitempty"`
	Timeout  string `json:"scrape_timeout,omitempty"`
}

// PrometheusOptions configures [Prometheus].
type PrometheusOptions struct {
	// Targets is a shortcut for one job "test" scraping these host:port
	// /metrics endpoints.
	Targets []string
	// Jobs are more scrape jobs.
	Jobs []PrometheusJob
	// RuleFiles are rule files (recording/alerting) to load; they are copied
	// into the temp dir. Check them first with [Promtool] "check rules".
	RuleFiles []string
	// ScrapeInterval and EvaluationInterval default to 1s.
	ScrapeInterval, EvaluationInterval time.Duration
	// Features are --enable-feature values, e.g. "native-histograms".
	Features []string
	// ExternalLabels are global external_labels (e.g. {"shard": "0"}).
	ExternalLabels map[string]string
	// RemoteWrite are raw remote_write entries ({"url": ...}).
	RemoteWrite []map[string]any
	// Flags are more command-line flags, e.g.
	// "--web.enable-remote-write-receiver".
	Flags []string
}

// PrometheusPeer is a running Prometheus server.
type PrometheusPeer struct {
	// Addr is "127.0.0.1:port"; URL is "http://127.0.0.1:port".
	Addr, URL string
	// Dir holds prometheus.yml, rules and the TSDB.
	Dir string
	// Config is the generated prometheus.yml (JSON, which is YAML).
	Config string
	// Proc is the prometheus process.
	Proc *Proc
}

// Sample is one element of an instant-vector query result.
type Sample struct {
	// Metric holds the labels, including __name__.
	Metric map[string]string
	// Value is the sample value.
	Value float64
	// Time is the sample timestamp.
	Time time.Time
}

// Prometheus starts /usr/bin/prometheus with a generated config in a temp
// dir (storage there too), listening on a free 127.0.0.1 port, and waits
// until /-/ready answers.
func Prometheus(tb testing.TB, opts PrometheusOptions) *PrometheusPeer {
	tb.Helper()
	Require(tb, PeerPrometheus)
	bin, _ := Find(PeerPrometheus)
	p := &PrometheusPeer{Dir: tb.TempDir()}
	si, ei := opts.ScrapeInterval, opts.EvaluationInterval
	if si == 0 {
		si = time.Second
	}
	if ei == 0 {
		ei = time.Second
	}
	jobs := append([]PrometheusJob(nil), opts.Jobs...)
	if len(opts.Targets) > 0 {
		jobs = append([]PrometheusJob{{Name: "test", Targets: opts.Targets}}, jobs...)
	}
	for i := range jobs {
		if len(jobs[i].Targets) > 0 {
			jobs[i].StaticConfigs = append(jobs[i].StaticConfigs, map[string]any{"targets": jobs[i].Targets})
		}
	}
	var rules []string
	for i, f := range opts.RuleFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatalf("testpeer: rule file: %v", err)
		}
		dst := filepath.Join(p.Dir, fmt.Sprintf("rules-%d-%s", i, filepath.Base(f)))
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			tb.Fatalf("testpeer: %v", err)
		}
		rules = append(rules, dst)
	}
	cfg := map[string]any{
		"global": map[string]any{
			"scrape_interval": si.String(), "evaluation_interval": ei.String(),
			"scrape_timeout": si.String(),
		},
		"scrape_configs": jobs,
	}
	if len(rules) > 0 {
		cfg["rule_files"] = rules
	}
	if len(opts.RemoteWrite) > 0 {
		cfg["remote_write"] = opts.RemoteWrite
	}
	if len(opts.ExternalLabels) > 0 {
		cfg["global"].(map[string]any)["external_labels"] = opts.ExternalLabels
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	p.Config = string(data)
	conf := filepath.Join(p.Dir, "prometheus.yml")
	if err := os.WriteFile(conf, data, 0o644); err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	var port int
	port, p.Proc = startOnFreePort(tb, func(port int) *Proc {
		args := []string{"--config.file=" + conf, "--storage.tsdb.path=" + filepath.Join(p.Dir, "data"),
			"--web.listen-address=" + hostPort(port), "--log.level=warn", "--storage.tsdb.retention.time=1h"}
		for _, f := range opts.Features {
			args = append(args, "--enable-feature="+f)
		}
		args = append(args, opts.Flags...)
		return start(tb, "prometheus", procOptions{dir: p.Dir}, bin, args...)
	}, func(port int, proc *Proc) error {
		return waitHTTP200(proc, "http://"+hostPort(port)+"/-/ready", p.Config)
	})
	p.Addr = hostPort(port)
	p.URL = "http://" + p.Addr
	return p
}

// waitHTTP200 polls u until it answers 200, the process exits, or
// StartTimeout passes; the error carries the peer's output and config.
func waitHTTP200(proc *Proc, u, config string) error {
	deadline := time.Now().Add(StartTimeout)
	for {
		if proc.Exited() {
			return fmt.Errorf("%s exited: %v\n%s\nconfig:\n%s", proc.Name, proc.waitErr, proc.Output(), config)
		}
		if code, _, err := httpGet(u, 2*time.Second); err == nil && code == 200 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no 200 from %s within %v\n%s", proc.Name, u, StartTimeout, proc.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpGet(u string, timeout time.Duration) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, b, err
}

// API calls GET /api/v1/<path> with params and returns the "data" field.
// An API error ("status":"error") is returned as an error.
func (p *PrometheusPeer) API(ctx context.Context, path string, params url.Values) (json.RawMessage, error) {
	u := p.URL + "/api/v1/" + strings.TrimPrefix(path, "/")
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", path, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("prometheus %s: HTTP %d: %w", path, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("prometheus %s: %s: %s", path, body.ErrorType, body.Error)
	}
	return body.Data, nil
}

// Query runs an instant query and returns its vector (a scalar result is one
// sample without labels). Other result types are an error.
func (p *PrometheusPeer) Query(ctx context.Context, promql string) ([]Sample, error) {
	data, err := p.API(ctx, "query", url.Values{"query": {promql}})
	if err != nil {
		return nil, err
	}
	var r struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("query %q: %w", promql, err)
	}
	switch r.ResultType {
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(r.Result, &vec); err != nil {
			return nil, fmt.Errorf("query %q: %w", promql, err)
		}
		out := make([]Sample, 0, len(vec))
		for _, v := range vec {
			s, err := sampleOf(v.Metric, v.Value)
			if err != nil {
				return nil, fmt.Errorf("query %q: %w", promql, err)
			}
			out = append(out, s)
		}
		return out, nil
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(r.Result, &v); err != nil {
			return nil, fmt.Errorf("query %q: %w", promql, err)
		}
		s, err := sampleOf(nil, v)
		if err != nil {
			return nil, err
		}
		return []Sample{s}, nil
	}
	return nil, fmt.Errorf("query %q: result type %s, want vector or scalar", promql, r.ResultType)
}

func sampleOf(m map[string]string, v [2]any) (Sample, error) {
	ts, ok1 := v[0].(float64)
	vs, ok2 := v[1].(string)
	if !ok1 || !ok2 {
		return Sample{}, fmt.Errorf("bad sample %v", v)
	}
	f, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		return Sample{}, fmt.Errorf("bad sample value %q: %w", vs, err)
	}
	return Sample{Metric: m, Value: f, Time: time.UnixMilli(int64(ts * 1000))}, nil
}

// WaitForSeries polls an instant query every 250 ms until it returns at least
// one sample, and returns them; it fails the test after timeout (default
// 30 s when 0), showing the last error and Prometheus's output.
func (p *PrometheusPeer) WaitForSeries(tb testing.TB, promql string, timeout time.Duration) []Sample {
	tb.Helper()
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := p.Query(ctx, promql)
		cancel()
		if err == nil && len(s) > 0 {
			return s
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	tb.Fatalf("testpeer: no series for %q within %v (last error: %v)", promql, timeout, last)
	return nil
}

// Alert is one entry of /api/v1/alerts.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"` // "pending" or "firing"
	Value       string            `json:"value"`
}

// Alerts returns the active alerts (pending and firing).
func (p *PrometheusPeer) Alerts(ctx context.Context) ([]Alert, error) {
	data, err := p.API(ctx, "alerts", nil)
	if err != nil {
		return nil, err
	}
	var r struct {
		Alerts []Alert `json:"alerts"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return r.Alerts, nil
}

// PromtoolPath returns the promtool binary, skipping (or failing with
// PQTLS_REQUIRE_PEERS=1) when it is missing.
func PromtoolPath(tb testing.TB) string {
	tb.Helper()
	Require(tb, PeerPromtool)
	p, _ := Find(PeerPromtool)
	return p
}

// Promtool runs promtool with args (e.g. "check", "rules", file; or "test",
// "rules", file) and returns its combined output and whether it exited 0.
// Use it to assert that a bad rule file is rejected, too.
func Promtool(tb testing.TB, args ...string) (string, bool) {
	tb.Helper()
	bin := PromtoolPath(tb)
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	out, err := runCtx(ctx, nil, nil, bin, args...)
	if ctx.Err() != nil {
		tb.Fatalf("testpeer: promtool %v: %v", args, err)
	}
	if err != nil {
		return out + err.Error(), false
	}
	return out, true
}
