package pqtls

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Role is the `role` metric label: which side of the handshake recorded it.
type Role string

// Roles.
const (
	RoleServer Role = "server"
	RoleClient Role = "client"
	// RoleObserved marks handshakes seen passively by pqtls observe.
	RoleObserved Role = "observed"
)

// Metric names, part of the public interface (docs/METRICS.md, docs/ARCHITECTURE.md).
const (
	MetricGroupTotal      = "tls_handshake_group_total"
	MetricDuration        = "tls_handshake_duration_seconds"
	MetricErrorsTotal     = "tls_handshake_errors_total"
	MetricHelloRetryTotal = "tls_handshake_hello_retry_total"
	MetricCipherTotal     = "tls_handshake_cipher_total"
	MetricHookDuration    = "tls_handshake_hook_duration_seconds"
	MetricAuthTotal       = "tls_handshake_auth_total"
)

// DurationBuckets are the classic histogram buckets of
// tls_handshake_duration_seconds: 0.5 ms to 10 s.
var DurationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metrics records handshake metrics. A nil *Metrics is valid and records
// nothing, so instrumented code never needs to check.
type Metrics struct {
	groups   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	hrr      *prometheus.CounterVec
	cipher   *prometheus.CounterVec
	hookDur  *prometheus.HistogramVec
	auth     *prometheus.CounterVec
}

// NewMetrics creates the handshake metrics and registers them on reg. A nil
// reg creates unregistered metrics. If reg already holds metrics with the same
// names and labels (another Metrics on the same registry), those are reused,
// so several listeners can share one registry.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		groups:   counterVec(MetricGroupTotal, "Completed TLS handshakes by negotiated key-exchange group.", "role", "group", "kind"),
		duration: durationVec(MetricDuration, "TLS handshake duration by negotiated group."),
		errors:   counterVec(MetricErrorsTotal, "Failed TLS handshakes by reason.", "role", "reason"),
		hrr:      counterVec(MetricHelloRetryTotal, "TLS 1.3 handshakes that needed a HelloRetryRequest, by negotiated group.", "role", "group"),
		cipher:   counterVec(MetricCipherTotal, "Completed TLS handshakes by version and negotiated cipher suite.", "role", "version", "cipher"),
		hookDur: durationVec(MetricHookDuration, "Server handshake time seen by an instrumented tls.Config's hooks: "+
			"ClientHello processed to VerifyConnection (not accept to client Finished)."),
		auth: counterVec(MetricAuthTotal, "Completed TLS handshakes by the server certificate's authentication kind (classical or ml-dsa).", "role", "kind"),
	}
	if reg == nil {
		return m, nil
	}
	if err := registerEach(reg, &m.groups, &m.errors, &m.hrr, &m.cipher, &m.auth); err != nil {
		return nil, err
	}
	if err := registerEach(reg, &m.duration, &m.hookDur); err != nil {
		return nil, err
	}
	return m, nil
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// durationVec is a handshake-duration histogram by role and group, with
// DurationBuckets and native buckets.
func durationVec(name, help string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:                            name,
		Help:                            help,
		Buckets:                         DurationBuckets,
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  100,
		NativeHistogramMinResetDuration: time.Hour,
	}, []string{"role", "group"})
}

// registerEach registers each collector, replacing it with the one already
// on reg when an equal one is there.
func registerEach[C prometheus.Collector](reg prometheus.Registerer, cs ...*C) error {
	for _, c := range cs {
		var err error
		if *c, err = register(reg, *c); err != nil {
			return err
		}
	}
	return nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("pqtls: registering the tls_handshake_* metrics: %w (the registry already has a different metric with one of these names: use a separate prometheus.Registry, or share one *pqtls.Metrics)", err)
	}
	return c, nil
}

// ObserveHandshake records a completed handshake.
func (m *Metrics) ObserveHandshake(role Role, cs tls.ConnectionState, d time.Duration) {
	if m == nil {
		return
	}
	m.ObserveGroup(role, cs.CurveID, cs.HelloRetryRequest, d)
	m.ObserveCipher(role, cs.Version, cs.CipherSuite)
	m.observeAuth(role, cs)
}

// ObserveHookHandshake records a handshake completed under an instrumented
// configuration's hooks (Options.Observer): like ObserveHandshake, but the
// duration, which runs from ClientHello processing to VerifyConnection,
// goes to tls_handshake_hook_duration_seconds. A zero duration is not
// observed (client side: there is no start hook).
func (m *Metrics) ObserveHookHandshake(role Role, cs tls.ConnectionState, d time.Duration) {
	if m == nil {
		return
	}
	m.ObserveGroup(role, cs.CurveID, cs.HelloRetryRequest, 0)
	m.ObserveCipher(role, cs.Version, cs.CipherSuite)
	m.observeAuth(role, cs)
	if d > 0 {
		m.hookDur.WithLabelValues(string(role), GroupLabel(cs.CurveID)).Observe(d.Seconds())
	}
}

// ObserveCipher counts a completed handshake in tls_handshake_cipher_total.
// The labels are bounded: version is "TLS 1.2", "TLS 1.3" or "other";
// cipher is the suite's IANA name when Go knows it, else "other".
func (m *Metrics) ObserveCipher(role Role, version, suite uint16) {
	if m == nil {
		return
	}
	m.cipher.WithLabelValues(string(role), VersionLabel(version), CipherLabel(suite)).Inc()
}

// VersionLabel is the version label of tls_handshake_cipher_total.
func VersionLabel(v uint16) string {
	if v == tls.VersionTLS12 || v == tls.VersionTLS13 {
		return VersionName(v)
	}
	return LabelOther
}

// LabelOther is the label value of anything outside a bounded label set.
const LabelOther = "other"

var cipherLabels = func() map[uint16]string {
	m := map[uint16]string{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		m[cs.ID] = cs.Name
	}
	return m
}()

// CipherLabel is the cipher label of tls_handshake_cipher_total: the
// suite's name, or "other" for a suite Go does not know.
func CipherLabel(suite uint16) string {
	if n, ok := cipherLabels[suite]; ok {
		return n
	}
	return LabelOther
}

// ObserveGroup records a completed handshake from its parts. It is what
// ObserveHandshake uses, and what passive observers call.
func (m *Metrics) ObserveGroup(role Role, group tls.CurveID, helloRetry bool, d time.Duration) {
	if m == nil {
		return
	}
	label := GroupLabel(group)
	m.groups.WithLabelValues(string(role), label, string(GroupKind(group))).Inc()
	if d > 0 {
		m.duration.WithLabelValues(string(role), label).Observe(d.Seconds())
	}
	if helloRetry {
		m.hrr.WithLabelValues(string(role), label).Inc()
	}
}

// ObserveError records a failed handshake with its ErrorReason.
func (m *Metrics) ObserveError(role Role, err error) {
	if m == nil || err == nil {
		return
	}
	m.ObserveReason(role, ErrorReason(err))
}

// ObserveReason records a failed handshake with an explicit reason, which
// should be one of the Reason* constants or an alert_* reason; any other
// value is recorded as ReasonOther, so the reason label stays bounded.
func (m *Metrics) ObserveReason(role Role, reason string) {
	if m == nil {
		return
	}
	if !KnownReason(reason) {
		reason = ReasonOther
	}
	m.errors.WithLabelValues(string(role), reason).Inc()
}

// observeAuth counts a completed handshake in tls_handshake_auth_total by
// the kind of the server's certificate: classical or ml-dsa. A handshake
// with no known server certificate is not counted.
func (m *Metrics) observeAuth(role Role, cs tls.ConnectionState) {
	if kind := authKind(role, cs); kind != "" {
		m.auth.WithLabelValues(string(role), kind).Inc()
	}
}
