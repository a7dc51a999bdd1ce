package exporter

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

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
