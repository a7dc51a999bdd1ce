// Package interop proves the pqtls library with real clients and servers
// that pqtls does not own: Node.js 26 over HTTP/2, Chromium, pgx against
// PostgreSQL 15, go-redis against Redis, a franz-go client, grpc-go's own
// credentials.NewTLS. It is a separate module so that pgx, go-redis and
// franz-go never enter the library's go.mod.
package interop

import (
	"crypto/tls"
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/prometheus/client_golang/prometheus"
)

// observed returns an Observer recording into a fresh registry.
func observed(t testing.TB) (*pqtls.Observer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := pqtls.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return &pqtls.Observer{Metrics: m}, reg
}

// series flattens a registry into "name{k=v,...}" -> value: counters by
// value, histograms by sample count (name_count).
func series(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var kv []string
			for _, lp := range m.GetLabel() {
				kv = append(kv, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(kv)
			key := "{" + strings.Join(kv, ",") + "}"
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

// wantSeries waits (at most 5 s) until the registry holds exactly want.
func wantSeries(t testing.TB, reg *prometheus.Registry, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := series(t, reg)
		if !strings.Contains(fmt.Sprint(want), "tls_handshake_auth_total") {
			// Checked by the tests that name it (auth_go127_test.go).
			maps.DeleteFunc(got, func(k string, _ float64) bool { return strings.HasPrefix(k, "tls_handshake_auth_total") })
		}
		if maps.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric series:\n%s\nwant exactly:\n%s", dump(got), dump(want))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dump(m map[string]float64) string {
	var lines []string
	for k, v := range m {
		lines = append(lines, fmt.Sprintf("  %s %v", k, v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// group, cipher and hookDur name one series each.
func group(role pqtls.Role, id tls.CurveID) string {
	g, _ := pqtls.LookupGroup(id)
	return fmt.Sprintf("tls_handshake_group_total{group=%s,kind=%s,role=%s}", g.Label, g.Kind, role)
}

func cipher(role pqtls.Role, version, suite uint16) string {
	return fmt.Sprintf("tls_handshake_cipher_total{cipher=%s,role=%s,version=%s}", pqtls.CipherLabel(suite), role, pqtls.VersionLabel(version))
}

func hookDur(id tls.CurveID) string {
	return fmt.Sprintf("tls_handshake_hook_duration_seconds_count{group=%s,role=server}", pqtls.GroupLabel(id))
}

func errorsTotal(role pqtls.Role, reason string) string {
	return fmt.Sprintf("tls_handshake_errors_total{reason=%s,role=%s}", reason, role)
}
