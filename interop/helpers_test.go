// Package interop proves the pqtls library with real clients and servers
// that pqtls does not own: Node.js 26 over HTTP/2, Chromium, pgx against
// PostgreSQL 15, go-redis against Redis, a franz-go client, grpc-go's own
// credentials.NewTLS. It is a separate module so that pgx, go-redis and
// franz-go never enter the library's go.mod.
package interop

import (
	"crypto/tls"
	"fmt"
	"github.com/pqtls/pqtls/internal/testpeer"
	"testing"

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

// series and wantSeries are the shared metric-series helpers.
func series(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	return testpeer.Series(t, reg)
}

func wantSeries(t testing.TB, reg *prometheus.Registry, want map[string]float64) {
	t.Helper()
	testpeer.WantSeries(t, reg, want)
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
