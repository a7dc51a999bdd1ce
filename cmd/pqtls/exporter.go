package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pqtls/pqtls/exporter"
	"github.com/pqtls/pqtls/internal/httpserve"
	"github.com/pqtls/pqtls/scan"
)

// exporterOpts are the flags of 'pqtls exporter'.
type exporterOpts struct {
	config      string
	listen      string
	checkConfig bool
	logLevel    string
	// ready, when set (tests), receives the listening address.
	ready chan<- string
}

func newExporterCmd(s streams) *cobra.Command {
	return newExporterCmdWith(s, &exporterOpts{})
}

func newExporterCmdWith(s streams, o *exporterOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exporter --config exporter.yaml [--listen :9650]",
		Short: "Prometheus exporter: probe targets for the key-exchange group they negotiate (blackbox-style /probe)",
		Long: `Serve Prometheus probes of TLS endpoints: GET /probe?target=host:port&module=NAME runs one probe
with the module's settings and returns its metrics (probe_success, probe_tls_group_info{group,kind},
probe_tls_pq_ready, ...). /metrics has the exporter's own health. SIGHUP (or POST /-/reload) rereads
the configuration and keeps the old one if the new one is invalid. See docs/EXPORTER.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExporter(cmd.Context(), s, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "module configuration file (YAML, see docs/EXPORTER.md)")
	f.StringVar(&o.listen, "listen", ":9650", "address to serve /probe and /metrics on")
	f.BoolVar(&o.checkConfig, "check-config", false, "validate the configuration, print the modules and exit")
	f.StringVar(&o.logLevel, "log-level", "info", "log level on stderr: debug (every failed probe), info, warn, error")
	return cmd
}

func parseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

func runExporter(ctx context.Context, s streams, o *exporterOpts) error {
	if o.config == "" {
		return usageErrorf("--config is required: write a module file (see docs/EXPORTER.md and examples/exporter.yaml)")
	}
	level, err := parseLogLevel(o.logLevel)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if err := checkListenAddr(o.listen); err != nil {
		return usageErrorf("--listen %v", err)
	}
	cfg, err := exporter.LoadConfig(o.config)
	if err != nil {
		var ce *exporter.ConfigError
		if errors.As(err, &ce) {
			return usageErrorf("%v", err)
		}
		return usageErrorf("%v (check the --config path)", err)
	}
	if o.checkConfig {
		names := make([]string, 0, len(cfg.Modules))
		for n := range cfg.Modules {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(s.out, "%s: OK, %d module(s): %s\n", o.config, len(names), strings.Join(names, ", "))
		return nil
	}
	logger := slog.New(slog.NewTextHandler(s.errOut, &slog.HandlerOptions{Level: level}))
	reg := daemonRegistry()
	exp, err := exporter.New(exporter.Options{Config: cfg, ConfigFile: o.config, Logger: logger, Registerer: reg, Version: buildVersion(),
		Enumerator: scanEnumerator})
	if err != nil {
		return failuref("%v", err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return failuref("listen on %s: %v (choose another --listen address)", o.listen, err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	rejected, err := httpserve.NewRejectedCounter(reg, "exporter")
	if err != nil {
		return failuref("%v", err)
	}
	// The side-port limits of internal/httpserve (header, read and idle
	// timeouts, a connection cap counted in
	// pqtls_http_connections_rejected_total{server="exporter"}); a probe may
	// take its module's timeout before its answer is written.
	srv := httpserve.NewServer(exp.Handler(reg), httpserve.Options{Logger: logger, WriteTimeout: probeWriteTimeout(cfg)})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(httpserve.LimitListener(ln, httpserve.DefaultMaxConns(), rejected)) }()
	logger.Info("pqtls exporter listening", "addr", ln.Addr().String(), "config", o.config, "modules", len(cfg.Modules))
	if w := exporter.ExposureWarning(cfg, ln.Addr()); w != "" {
		logger.Warn(w)
	}
	if o.ready != nil {
		o.ready <- ln.Addr().String()
	}
	for {
		select {
		case <-hup:
			_ = exp.Reload() // logged and counted; the old config stays on error
		case err := <-errc:
			return failuref("serve: %v", err)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			logger.Info("pqtls exporter stopped")
			return nil
		}
	}
}

// probeWriteTimeout is the HTTP write timeout of the exporter: the
// httpserve default, or the longest module timeout plus 5 s when that is
// longer.
func probeWriteTimeout(cfg *exporter.Config) time.Duration {
	d := httpserve.WriteTimeout
	for _, m := range cfg.Modules {
		d = max(d, m.Timeout+5*time.Second)
	}
	return d
}

// scanEnumerator is the exporter's Enumerator: scan's engine (crafted
// ClientHellos, an HRR walk, confirming handshakes), on the connections
// the exporter dials (only the addresses allowed_targets checked). cmd
// wires it because the exporter package may not import scan.
func scanEnumerator(ctx context.Context, r exporter.EnumRequest) (exporter.EnumResult, error) {
	t := scan.Target{Input: net.JoinHostPort(r.Host, strconv.Itoa(r.Port)), Source: "exporter", Host: r.Host, IP: r.IP.String(),
		Port: r.Port, ServerName: r.ServerName, StartTLS: scan.ProtoNone}
	res, err := scan.ScanOne(ctx, t, scan.Options{Enumerate: true, Groups: r.Groups, ServerName: r.ServerName, RootCAs: r.RootCAs,
		ClientCert: r.ClientCert, ALPN: r.ALPN, StartTLS: r.StartTLS, Retries: -1, Timeout: r.Timeout, DialContext: r.DialContext, Logger: r.Logger})
	if err == nil && res.Error != "" {
		// res.Error may quote a server's banner: verdict and reason only.
		err = fmt.Errorf("enumeration: %s (%s)", res.Verdict, res.Reason)
	}
	out := exporter.EnumResult{TLS12Curves: res.TLS12Curves, Connections: res.Connections, ProbeErrors: len(res.ProbeErrors),
		Supported: res.SupportedGroups()}
	out.PQAuth.CNSA2 = string(res.CNSA2.Verdict)
	if res.MLDSA != nil {
		out.PQAuth.MLDSACapable = res.MLDSA.Capable
		out.PQAuth.MLDSASchemes = res.MLDSA.Schemes()
	}
	return out, err
}
