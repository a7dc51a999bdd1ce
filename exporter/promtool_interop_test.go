package exporter

// The Prometheus side of the interop tests: the shipped scrape
// configurations and rules (promtool), and queries against a real server.

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pqtls/pqtls/internal/testpeer"
)

const deployDir = "../deploy/prometheus"

// promtool runs promtool (internal/testpeer) and returns its output and a
// non-nil error when it exits non-zero.
func promtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, ok := testpeer.Promtool(t, args...)
	if !ok {
		return out, errors.New("promtool failed")
	}
	return out, nil
}

// TestInteropPromtoolRules checks the rule files and the example
// configuration with promtool, runs the alert unit tests (each alert firing
// and not firing), and checks that a broken expectation makes them fail.
func TestInteropPromtoolRules(t *testing.T) {
	testpeer.Require(t, testpeer.PeerPromtool)
	rules, _ := filepath.Glob(filepath.Join(deployDir, "rules", "*.yml"))
	if len(rules) != 2 {
		t.Fatalf("rule files: %v", rules)
	}
	out, err := promtool(t, append([]string{"check", "rules"}, rules...)...)
	if err != nil || strings.Count(out, "SUCCESS") != 2 {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	out, err = promtool(t, "check", "config", filepath.Join(deployDir, "prometheus.example.yml"))
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	tests, _ := filepath.Glob(filepath.Join(deployDir, "tests", "*.yml"))
	if len(tests) == 0 {
		t.Fatal("no rule tests")
	}
	out, err = promtool(t, append([]string{"test", "rules"}, tests...)...)
	if err != nil || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}

	// Every alert has a firing case and a not-firing case.
	alertsYAML, err := os.ReadFile(filepath.Join(deployDir, "rules", "pqtls-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var testsText strings.Builder
	for _, f := range tests {
		b, _ := os.ReadFile(f)
		testsText.Write(b)
	}
	for _, line := range strings.Split(string(alertsYAML), "\n") {
		name, ok := strings.CutPrefix(strings.TrimSpace(line), "- alert: ")
		if !ok {
			continue
		}
		blocks := strings.Split(testsText.String(), "alertname: "+name+"\n")
		firing, quiet := false, false
		for _, b := range blocks[1:] {
			rest := strings.TrimSpace(b)
			if strings.HasPrefix(rest, "exp_alerts: []") {
				quiet = true
			} else if strings.HasPrefix(rest, "exp_alerts:") {
				firing = true
			}
		}
		if !firing || !quiet {
			t.Errorf("alert %s: firing case %v, not-firing case %v: add the missing one to deploy/prometheus/tests", name, firing, quiet)
		}
	}

	// The unit tests can fail: a wrong expected label makes promtool fail.
	dir := t.TempDir()
	src, _ := os.ReadFile(tests[0])
	abs, _ := filepath.Abs(filepath.Join(deployDir, "rules"))
	mutated := strings.ReplaceAll(string(src), "../rules/", abs+"/")
	mutated = strings.Replace(mutated, `instance: "closed:443"`, `instance: "open:443"`, 1)
	mf := filepath.Join(dir, "mutated.test.yml")
	if err := os.WriteFile(mf, []byte(mutated), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := promtool(t, "test", "rules", mf); err == nil || !strings.Contains(out, "PqtlsProbeFailed") {
		t.Errorf("a wrong expectation did not fail promtool test rules:\n%s", out)
	}
}

// queryRange runs a range query over the last minute; it returns the API
// error, if any.
func queryRange(ctx context.Context, p *testpeer.PrometheusPeer, expr string) error {
	now := time.Now()
	_, err := p.API(ctx, "query_range", url.Values{"query": {expr}, "start": {strconv.FormatInt(now.Add(-time.Minute).Unix(), 10)},
		"end": {strconv.FormatInt(now.Unix(), 10)}, "step": {"5"}})
	return err
}

// waitFor polls expr until it returns at least one sample for which ok is
// true, or fails the test after timeout.
func waitFor(t *testing.T, p *testpeer.PrometheusPeer, expr string, timeout time.Duration, ok func([]testpeer.Sample) bool) []testpeer.Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last []testpeer.Sample
	var lastErr error
	for ctx.Err() == nil {
		vec, err := p.Query(ctx, expr)
		if err == nil && len(vec) > 0 && ok(vec) {
			return vec
		}
		last, lastErr = vec, err
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: last result %v, err %v", expr, last, lastErr)
	return nil
}

func anySample([]testpeer.Sample) bool { return true }

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
