package exporter

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pqtls/pqtls/internal/testpeer"
)

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
