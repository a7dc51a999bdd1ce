package exporter

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"go.yaml.in/yaml/v3"
)

// ScrapeTimeoutMargin is subtracted from Prometheus' scrape timeout
// (X-Prometheus-Scrape-Timeout-Seconds) so the probe ends, and its metrics
// are written, before Prometheus gives up.
const ScrapeTimeoutMargin = 500 * time.Millisecond

// Options configures an Exporter.
type Options struct {
	// Config is the initial configuration. Required.
	Config *Config
	// ConfigFile is reread by Reload. Empty: Reload fails.
	ConfigFile string
	// Logger receives the exporter's own log (reloads, failed probes at Debug).
	// Nil discards.
	Logger *slog.Logger
	// Registerer receives the exporter's health metrics (pqtls_exporter_*).
	// Nil registers nothing.
	Registerer prometheus.Registerer
	// Version is reported by pqtls_exporter_build_info.
	Version string
	// Resolver resolves target names, once per probe. Nil: net.DefaultResolver.
	Resolver Resolver
	// Enumerator enumerates groups for modules with enumerate: true
	// ('pqtls exporter' wires scan's engine). Required when a module
	// enumerates.
	Enumerator Enumerator
}

// Refusal reasons, the reason label of pqtls_exporter_probes_refused_total.
const (
	// RefusedTargetNotAllowed: allowed_targets refuse the target (HTTP 403).
	RefusedTargetNotAllowed = "target_not_allowed"
	// RefusedConcurrency: max_concurrent_probes probes were running (HTTP 503).
	RefusedConcurrency = "max_concurrent_probes"
)

// Exporter serves /probe and keeps the current configuration.
type Exporter struct {
	cfg        atomic.Pointer[Config]
	configFile string
	logger     *slog.Logger
	resolver   Resolver
	enumerator Enumerator
	reloadMu   sync.Mutex
	running    atomic.Int64

	probes       *prometheus.CounterVec
	refused      *prometheus.CounterVec
	inFlight     prometheus.GaugeFunc
	reloadOK     prometheus.Gauge
	reloadTime   prometheus.Gauge
	reloadsTotal *prometheus.CounterVec
}

// New returns an Exporter.
func New(o Options) (*Exporter, error) {
	if o.Config == nil {
		return nil, fmt.Errorf("exporter: no configuration")
	}
	e := &Exporter{configFile: o.ConfigFile, logger: o.Logger, resolver: o.Resolver, enumerator: o.Enumerator}
	if err := e.canEnumerate(o.Config); err != nil {
		return nil, err
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	if e.resolver == nil {
		e.resolver = net.DefaultResolver
	}
	e.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pqtls_exporter_probes_refused_total", Help: "Probe requests refused: target_not_allowed (HTTP 403, allowed_targets) or max_concurrent_probes (HTTP 503).",
	}, []string{"reason"})
	for _, r := range []string{RefusedTargetNotAllowed, RefusedConcurrency} {
		e.refused.WithLabelValues(r)
	}
	e.inFlight = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pqtls_exporter_probes_in_flight", Help: "Probes running now (at most max_concurrent_probes).",
	}, func() float64 { return float64(e.running.Load()) })
	e.cfg.Store(o.Config)
	e.probes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pqtls_exporter_probes_total", Help: "Probes run, by module and result (success/failure).",
	}, []string{"module", "result"})
	e.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "pqtls_exporter_config_last_reload_successful", Help: "1 if the last configuration (re)load succeeded.",
	})
	e.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "pqtls_exporter_config_last_reload_success_timestamp_seconds", Help: "Unix time of the last successful configuration (re)load.",
	})
	e.reloadsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pqtls_exporter_config_reloads_total", Help: "Configuration reloads, by result (success/failure).",
	}, []string{"result"})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pqtls_exporter_build_info", Help: "pqtls exporter build information (value 1).",
	}, []string{"version", "goversion"})
	version := o.Version
	if version == "" {
		version = "unknown"
	}
	build.WithLabelValues(version, runtime.Version()).Set(1)
	e.reloadOK.Set(1)
	e.reloadTime.SetToCurrentTime()
	for name := range o.Config.Modules {
		for _, r := range []string{"success", "failure"} {
			e.probes.WithLabelValues(name, r)
		}
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{e.probes, e.refused, e.inFlight, e.reloadOK, e.reloadTime, e.reloadsTotal, build} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("exporter: register metrics: %w", err)
			}
		}
	}
	return e, nil
}

// canEnumerate refuses a configuration with enumerating modules when no
// Enumerator was given.
func (e *Exporter) canEnumerate(cfg *Config) error {
	if e.enumerator != nil {
		return nil
	}
	for name, m := range cfg.Modules {
		if m.Enumerate {
			return fmt.Errorf("exporter: module %q enumerates but Options.Enumerator is nil", name)
		}
	}
	return nil
}

// Config returns the configuration in use.
func (e *Exporter) Config() *Config { return e.cfg.Load() }

// Reload rereads the configuration file. On error the old configuration stays
// in use and the error is returned (and counted).
func (e *Exporter) Reload() error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	if e.configFile == "" {
		return fmt.Errorf("exporter: no configuration file to reload")
	}
	cfg, err := LoadConfig(e.configFile)
	if err == nil {
		err = e.canEnumerate(cfg)
	}
	if err != nil {
		e.reloadOK.Set(0)
		e.reloadsTotal.WithLabelValues("failure").Inc()
		e.logger.Error("configuration reload failed, keeping the previous configuration", "file", e.configFile, "err", err)
		return err
	}
	e.cfg.Store(cfg)
	e.reloadOK.Set(1)
	e.reloadTime.SetToCurrentTime()
	e.reloadsTotal.WithLabelValues("success").Inc()
	for name := range cfg.Modules {
		for _, r := range []string{"success", "failure"} {
			e.probes.WithLabelValues(name, r)
		}
	}
	e.logger.Info("configuration reloaded", "file", e.configFile, "modules", len(cfg.Modules))
	return nil
}

// Handler returns the HTTP handler: /probe, /metrics (gatherer, may be nil),
// /-/reload (POST) and an index page.
func (e *Exporter) Handler(gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/probe", e.ServeProbe)
	if gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "use POST to reload the configuration", http.StatusMethodNotAllowed)
			return
		}
		if err := e.Reload(); err != nil {
			http.Error(w, "reload failed, previous configuration kept: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "configuration reloaded")
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		names := e.moduleNames()
		fmt.Fprintf(w, "<html><head><title>pqtls exporter</title></head><body><h1>pqtls exporter</h1>"+
			"<p><a href=\"/metrics\">/metrics</a> (exporter health)</p>"+
			"<p>Probe: <code>/probe?target=host:port&amp;module=NAME</code> (add <code>&amp;debug=true</code> for the probe's log)</p>"+
			"<p>Modules: %s</p></body></html>", html.EscapeString(strings.Join(names, ", ")))
	})
	return mux
}

func (e *Exporter) moduleNames() []string {
	cfg := e.cfg.Load()
	names := make([]string, 0, len(cfg.Modules))
	for n := range cfg.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ServeProbe handles GET /probe?target=host:port&module=NAME[&debug=true]:
// one probe, its metrics only (a fresh registry per request).
func (e *Exporter) ServeProbe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target := q.Get("target")
	if target == "" {
		http.Error(w, "target parameter is missing: use /probe?target=host:port&module=NAME", http.StatusBadRequest)
		return
	}
	cfg := e.cfg.Load()
	name := q.Get("module")
	if name == "" {
		name = DefaultModule
	}
	m, ok := cfg.Modules[name]
	if !ok {
		http.Error(w, fmt.Sprintf("unknown module %q: use one of %s (see the exporter configuration)", name, strings.Join(e.moduleNames(), ", ")), http.StatusBadRequest)
		return
	}
	timeout, err := probeTimeout(r, m.Timeout)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if n := e.running.Add(1); n > int64(cfg.MaxConcurrentProbes) {
		e.running.Add(-1)
		e.refused.WithLabelValues(RefusedConcurrency).Inc()
		http.Error(w, fmt.Sprintf("%d probes are running (max_concurrent_probes): retry later, or raise max_concurrent_probes", cfg.MaxConcurrentProbes), http.StatusServiceUnavailable)
		return
	}
	defer e.running.Add(-1)
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()

	// The probe's log is returned to the HTTP client with debug=true: server
	// banners are redacted from it (see redact.go).
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	probeLogger := slog.New(redactHandler{slog.NewTextHandler(&lockedWriter{w: &logBuf, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug})}).
		With("module", name)

	reg := prometheus.NewRegistry()
	success := prometheus.NewGauge(prometheus.GaugeOpts{Name: "probe_success", Help: "1 if the probe succeeded: TCP, STARTTLS and a verified TLS handshake."})
	duration := prometheus.NewGauge(prometheus.GaugeOpts{Name: "probe_duration_seconds", Help: "How long the probe took, in seconds."})
	reg.MustRegister(success, duration)

	start := time.Now()
	res := probeWith(ctx, target, m, probeEnv{resolver: e.resolver, lists: cfg.lists(name, m), enumerate: e.enumerator}, reg, probeLogger)
	elapsed := time.Since(start)
	if res.Refused != nil {
		e.refused.WithLabelValues(RefusedTargetNotAllowed).Inc()
		e.logger.Warn("target refused", "module", name, "target", target, "err", res.Refused, "remote", r.RemoteAddr)
		http.Error(w, res.Refused.Public()+": add it to allowed_targets in the exporter configuration if it should be probed", http.StatusForbidden)
		return
	}
	duration.Set(elapsed.Seconds())
	success.Set(b2f(res.Success))
	result := "failure"
	if res.Success {
		result = "success"
		probeLogger.Info("probe succeeded", "duration_seconds", elapsed.Seconds())
	} else {
		probeLogger.Error("probe failed", "phase", res.Phase, "reason", res.Reason, "duration_seconds", elapsed.Seconds())
		e.logger.Debug("probe failed", "module", name, "target", target, "phase", res.Phase, "reason", res.Reason)
	}
	e.probes.WithLabelValues(name, result).Inc()

	if debug, _ := strconv.ParseBool(q.Get("debug")); debug {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		logMu.Lock()
		fmt.Fprintf(w, "Logs for the probe:\n%s\n\n", logBuf.String())
		logMu.Unlock()
		fmt.Fprintln(w, "Metrics that would have been returned:")
		mfs, _ := reg.Gather()
		var mb bytes.Buffer
		for _, mf := range mfs {
			_, _ = expfmt.MetricFamilyToText(&mb, mf)
		}
		fmt.Fprintf(w, "%s\n\nModule configuration:\n", mb.String())
		out, _ := yaml.Marshal(m)
		w.Write(out)
		return
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// probeTimeout is the module timeout, bounded by the scrape timeout header
// minus ScrapeTimeoutMargin.
func probeTimeout(r *http.Request, module time.Duration) (time.Duration, error) {
	timeout := module
	if h := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); h != "" {
		secs, err := strconv.ParseFloat(h, 64)
		if err != nil || secs <= 0 {
			return 0, fmt.Errorf("bad X-Prometheus-Scrape-Timeout-Seconds %q: expected a positive number of seconds", h)
		}
		scrape := time.Duration(secs * float64(time.Second))
		if scrape > ScrapeTimeoutMargin {
			scrape -= ScrapeTimeoutMargin
		}
		if scrape < timeout {
			timeout = scrape
		}
	}
	return timeout, nil
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// ExposureWarning returns a warning when the exporter listens on addr
// beyond loopback while some modules may probe any target (no
// allowed_targets), and "" otherwise.
func ExposureWarning(cfg *Config, addr net.Addr) string {
	if ok, open := cfg.Restricted(); !ok {
		if ta, isTCP := addr.(*net.TCPAddr); isTCP && ta.IP.IsLoopback() {
			return ""
		}
		return fmt.Sprintf("no allowed_targets for module(s) %s while listening on %s: anyone who reaches this port can make the exporter connect to any host and port it can reach; set allowed_targets or listen on loopback (docs/EXPORTER.md, Security)",
			strings.Join(open, ", "), addr)
	}
	return ""
}
