package testpeer

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Series flattens a registry into "name{k=v,...}" -> value: counters by
// value, histograms by sample count (name_count). Labels are sorted.
func Series(t testing.TB, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, mf := range gather(t, reg) {
		for _, m := range mf.GetMetric() {
			key := labelKey(m)
			switch {
			case m.GetCounter() != nil:
				out[mf.GetName()+key] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[mf.GetName()+"_count"+key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// WantSeries waits (at most 5 s) until the registry holds exactly want, and
// fails the test with both sets otherwise. tls_handshake_auth_total series
// are ignored unless want names that metric (the authentication tests
// check it; the others would have to list it for every handshake).
func WantSeries(t testing.TB, reg prometheus.Gatherer, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := Series(t, reg)
		if !strings.Contains(fmt.Sprint(want), "tls_handshake_auth_total") {
			maps.DeleteFunc(got, func(k string, _ float64) bool { return strings.HasPrefix(k, "tls_handshake_auth_total") })
		}
		if maps.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric series:\n%s\nwant exactly:\n%s", dumpSeries(got), dumpSeries(want))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// labelKey is "{k=v,...}" with m's labels sorted by name.
func labelKey(m *dto.Metric) string {
	kv := make([]string, 0, len(m.GetLabel()))
	for _, lp := range m.GetLabel() {
		kv = append(kv, lp.GetName()+"="+lp.GetValue())
	}
	slices.Sort(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

// gather returns g's metric families, failing the test on an error.
func gather(t testing.TB, g prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// dumpSeries lists m one "  name{labels} value" line per series, sorted.
func dumpSeries(m map[string]float64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "  %s %v\n", k, m[k])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Value sums the samples of metric name whose labels include want (a
// subset: labels not named match any value): counters and gauges by value,
// histograms by sample count. 0 when none match.
func Value(t testing.TB, g prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	var sum float64
	for _, mf := range gather(t, g) {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !LabelsMatch(m, want) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

// LabelsMatch reports whether m has every label of want with its value.
func LabelsMatch(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		if !slices.ContainsFunc(m.GetLabel(), func(lp *dto.LabelPair) bool { return lp.GetName() == k && lp.GetValue() == v }) {
			return false
		}
	}
	return true
}
