package tunnel

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls/internal/promreg"
)

// Tunnel metric names (public interface, docs/TUNNEL.md).
const (
	MetricConnectionsActive  = "pqtls_tunnel_connections_active"
	MetricConnectionsTotal   = "pqtls_tunnel_connections_total"
	MetricBytesTotal         = "pqtls_tunnel_bytes_total"
	MetricConnectionDuration = "pqtls_tunnel_connection_duration_seconds"
	MetricBackendDial        = "pqtls_tunnel_backend_dial_seconds"
	MetricBackendErrors      = "pqtls_tunnel_backend_errors_total"
	MetricReloads            = "pqtls_tunnel_reloads_total"
	MetricReloadErrors       = "pqtls_tunnel_reload_errors_total"
)

// Values of the direction label of pqtls_tunnel_bytes_total.
const (
	DirectionToTarget   = "to_target"
	DirectionFromTarget = "from_target"
)

type metrics struct {
	active       *prometheus.GaugeVec
	total        *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	dial         *prometheus.HistogramVec
	backendErrs  *prometheus.CounterVec
	reloads      *prometheus.CounterVec
	reloadErrors *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricConnectionsActive,
			Help: "Connections being proxied now."}, []string{"listener"}),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricConnectionsTotal,
			Help: "Connections accepted, by outcome (proxied, handshake_failed, backend_failed)."}, []string{"listener", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricBytesTotal,
			Help: "Payload bytes proxied, by direction (to_target, from_target)."}, []string{"listener", "direction"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricConnectionDuration,
			Help:    "Lifetime of proxied connections.",
			Buckets: []float64{0.01, 0.1, 1, 10, 60, 600, 3600, 86400}}, []string{"listener"}),
		dial: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricBackendDial,
			Help:    "Time to connect to the target (client mode: TCP connect and TLS handshake).",
			Buckets: []float64{0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5}}, []string{"listener"}),
		backendErrs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricBackendErrors,
			Help: "Failures to reach the target, by stage (dial, handshake, proxy_header)."}, []string{"listener", "stage"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricReloads,
			Help: "Successful reloads of certificates, keys and CA bundles."}, []string{"listener"}),
		reloadErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricReloadErrors,
			Help: "Failed reloads (the previous material stays in use)."}, []string{"listener"}),
	}
	// A second tunnel on the same registry shares the collectors already
	// there (a new, unregistered one would count into nothing).
	if err := promreg.Each(reg, &m.active); err != nil {
		return nil, err
	}
	if err := promreg.Each(reg, &m.total, &m.bytes, &m.backendErrs, &m.reloads, &m.reloadErrors); err != nil {
		return nil, err
	}
	if err := promreg.Each(reg, &m.duration, &m.dial); err != nil {
		return nil, err
	}
	return m, nil
}
