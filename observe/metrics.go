package observe

import (
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/pqtls/pqtls"
)

// Recorder turns flow records into the shared pqtls handshake metrics with
// role="observed" (tls_handshake_group_total, tls_handshake_errors_total,
// tls_handshake_hello_retry_total), plus pqtls_observe_* counters for what
// only a passive observer sees. It is safe for concurrent use.
type Recorder struct {
	m        *pqtls.Metrics
	outcomes *prometheus.CounterVec
	authCaps *prometheus.CounterVec
	mu       sync.Mutex
	last     Stats
	packets  prometheus.Counter
	bytes    prometheus.Counter
	bad      prometheus.Counter
	nontls   prometheus.Counter
	dropped  prometheus.Counter
	dropPkts prometheus.Counter
	evicted  prometheus.Counter
	kdrops   prometheus.Counter
	active   prometheus.Gauge
	buffered prometheus.Gauge
	logLines prometheus.Counter
	logBad   prometheus.Counter
	lastLog  [2]int64
}

// NewRecorder registers the metrics on reg.
func NewRecorder(reg prometheus.Registerer) (*Recorder, error) {
	m, err := pqtls.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("registering handshake metrics: %w", err)
	}
	r := &Recorder{
		m: m,
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pqtls_observe_flows_total",
			Help: "TLS flows seen by pqtls observe, by outcome.",
		}, []string{"outcome"}),
		authCaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pqtls_observe_client_auth_total",
			Help: "TLS flows by what the client's ClientHello offers for post-quantum authentication: ml-dsa (TLS 1.3 with an ML-DSA signature scheme), classical (TLS 1.3 without), tls12_only (no TLS 1.3, so no ML-DSA).",
		}, []string{"capability"}),
		packets:  prometheus.NewCounter(prometheus.CounterOpts{Name: "pqtls_observe_packets_total", Help: "Packets read by pqtls observe."}),
		bytes:    prometheus.NewCounter(prometheus.CounterOpts{Name: "pqtls_observe_bytes_total", Help: "Captured bytes read by pqtls observe."}),
		bad:      prometheus.NewCounter(prometheus.CounterOpts{Name: "pqtls_observe_malformed_handshakes_total", Help: "TLS handshakes that could not be parsed and were skipped."}),
		nontls:   prometheus.NewCounter(prometheus.CounterOpts{Name: "pqtls_observe_non_tls_flows_total", Help: "TCP flows whose first bytes were not TLS."}),
		dropped:  prometheus.NewCounter(prometheus.CounterOpts{Name: "pqtls_observe_dropped_flows_total", Help: "Connections not tracked because the flow table was full (--max-flows)."}),
		dropPkts: prometheus.NewCounter(prometheus.CounterOpts{Name: "pqtls_observe_dropped_packets_total", Help: "Packets of connections not tracked because the flow table was full."}),
		evicted:  prometheus.NewCounter(prometheus.CounterOpts{Name: "pqtls_observe_evicted_flows_total", Help: "Flows decided as incomplete before their handshake was read, to keep buffered handshake bytes under --max-buffer-bytes."}),
		logLines: prometheus.NewCounter(prometheus.CounterOpts{Name: "pqtls_observe_log_lines_total", Help: "Log lines read by pqtls observe --log."}),
		logBad:   prometheus.NewCounter(prometheus.CounterOpts{Name: "pqtls_observe_log_bad_lines_total", Help: "Log lines pqtls observe --log could not parse (skipped)."}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pqtls_observe_buffered_bytes", Help: "Handshake bytes buffered across all flows now."}),
		kdrops:   prometheus.NewCounter(prometheus.CounterOpts{Name: "pqtls_observe_kernel_dropped_packets_total", Help: "Packets the kernel dropped before the live capture could read them."}),
		active:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "pqtls_observe_active_flows", Help: "Flows currently tracked."}),
	}
	for _, o := range Outcomes {
		r.outcomes.WithLabelValues(o)
	}
	for _, c := range AuthCapabilities {
		r.authCaps.WithLabelValues(c)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{r.outcomes, r.authCaps, r.packets, r.bytes, r.bad, r.nontls, r.dropped, r.dropPkts, r.evicted, r.kdrops, r.active, r.buffered, r.logLines, r.logBad} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering observe metrics: %w", err)
			}
		}
	}
	return r, nil
}

// Flow records one flow.
func (r *Recorder) Flow(f *Flow) {
	r.outcomes.WithLabelValues(f.Outcome).Inc()
	if slices.Contains(AuthCapabilities, f.AuthCapability) { // bounded: never a value from the wire
		r.authCaps.WithLabelValues(f.AuthCapability).Inc()
	}
	switch f.Outcome {
	case OutcomeFailed:
		r.m.ObserveReason(pqtls.RoleObserved, f.Reason)
	case OutcomeIncomplete:
	default:
		if id, ok := f.SelectedGroupID(); ok {
			r.m.ObserveGroup(pqtls.RoleObserved, id, f.HRR, 0)
		} else {
			// TLS 1.2 without ECDHE (RSA or FFDHE key exchange).
			r.m.ObserveGroup(pqtls.RoleObserved, 0, f.HRR, 0)
		}
		if f.version != 0 { // a log line may have no version: nothing to label
			r.m.ObserveCipher(pqtls.RoleObserved, f.version, f.suite)
		}
	}
}

// Stats brings the pqtls_observe_* counters up to date with the analyzer's
// counters (which only grow).
func (r *Recorder) Stats(s Stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.packets.Add(float64(s.Packets - r.last.Packets))
	r.bytes.Add(float64(s.Bytes - r.last.Bytes))
	r.bad.Add(float64(s.Malformed - r.last.Malformed))
	r.nontls.Add(float64(s.NotTLS - r.last.NotTLS))
	r.dropped.Add(float64(s.DroppedFlows - r.last.DroppedFlows))
	r.dropPkts.Add(float64(s.DroppedPackets - r.last.DroppedPackets))
	r.evicted.Add(float64(s.EvictedFlows - r.last.EvictedFlows))
	r.kdrops.Add(float64(s.KernelDrops - r.last.KernelDrops))
	r.active.Set(float64(s.ActiveFlows))
	r.buffered.Set(float64(s.BufferedBytes))
	r.last = s
}

// LogStats brings the pqtls_observe_log_* counters up to date with the
// totals of a log reader (which only grow).
func (r *Recorder) LogStats(lines, bad int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logLines.Add(float64(lines - r.lastLog[0]))
	r.logBad.Add(float64(bad - r.lastLog[1]))
	r.lastLog = [2]int64{lines, bad}
}

// WriteProm writes everything gathered from g in the Prometheus text
// exposition format.
func WriteProm(w io.Writer, g prometheus.Gatherer) error {
	mfs, err := g.Gather()
	if err != nil {
		return fmt.Errorf("gathering metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("writing metrics: %w", err)
		}
	}
	return nil
}
