package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pqtls/pqtls/tunnel"
	"github.com/spf13/cobra"
)

// tunnelFlags are the flags shared by 'tunnel server' and 'tunnel client'.
type tunnelFlags struct {
	l           tunnel.ListenerConfig
	metrics     string
	drain       time.Duration
	logFormat   string
	logLevel    string
	checkConfig bool
	handshake   time.Duration
	connect     time.Duration
	idle        time.Duration
	certs, keys []string // --cert/--key, repeatable in pairs
}

// setCerts puts the first --cert/--key pair in Cert/Key and the others in
// ExtraCerts; the two flags go in pairs.
func (f *tunnelFlags) setCerts() error {
	if len(f.certs) != len(f.keys) {
		return usageErrorf("--cert and --key go in pairs: got %d --cert and %d --key", len(f.certs), len(f.keys))
	}
	for i := range f.certs {
		if i == 0 {
			f.l.Cert, f.l.Key = f.certs[0], f.keys[0]
			continue
		}
		f.l.ExtraCerts = append(f.l.ExtraCerts, tunnel.CertPair{Cert: f.certs[i], Key: f.keys[i]})
	}
	return nil
}

func newTunnelCmd(s streams) *cobra.Command {
	var (
		configPath  string
		checkConfig bool
	)
	cmd := &cobra.Command{
		Use:   "tunnel",
		Short: "Hybrid-PQ TLS sidecar: wrap services that cannot change (server and client modes)",
		Long: `pqtls tunnel puts hybrid post-quantum TLS in front of a service that cannot change
(server mode: hybrid TLS in, plaintext to a local target) and originates it for
clients that cannot change (client mode: plaintext on localhost in, hybrid TLS out).

  pqtls tunnel server --listen :5433 --target 127.0.0.1:5432 --cert srv.pem --key srv.key
  pqtls tunnel client --listen 127.0.0.1:15432 --target db.internal:5433 --ca ca.pem
  pqtls tunnel --config tunnel.yaml [--check-config]

SIGHUP (or a change of a certificate file) reloads certificates, keys and CA bundles;
SIGTERM stops accepting and drains connections up to the drain timeout. See docs/TUNNEL.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if configPath == "" {
				return usageErrorf("give a mode (pqtls tunnel server|client ...) or --config FILE; run 'pqtls tunnel --help'")
			}
			cfg, err := tunnel.LoadConfig(configPath)
			if err != nil {
				return configErrors(s, err)
			}
			return runTunnel(s, cfg, checkConfig)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "YAML file describing one or more listeners (strict: unknown keys are errors)")
	cmd.Flags().BoolVar(&checkConfig, "check-config", false, "validate the configuration and load every certificate, then exit")
	cmd.AddCommand(newTunnelModeCmd(s, tunnel.ModeServer), newTunnelModeCmd(s, tunnel.ModeClient))
	return cmd
}

func newTunnelModeCmd(s streams, mode tunnel.Mode) *cobra.Command {
	f := &tunnelFlags{l: tunnel.ListenerConfig{Mode: mode}}
	cmd := &cobra.Command{
		Use:   string(mode),
		Args:  cobra.NoArgs,
		Short: map[tunnel.Mode]string{tunnel.ModeServer: "Accept hybrid TLS and forward plaintext to a local target", tunnel.ModeClient: "Accept plaintext on localhost and originate hybrid TLS to a target"}[mode],
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.l.Listen == "" || f.l.Target == "" {
				return usageErrorf("--listen and --target are required; run 'pqtls tunnel %s --help'", mode)
			}
			if err := f.setCerts(); err != nil {
				return err
			}
			f.l.HandshakeTimeout = tunnel.Duration(f.handshake)
			f.l.ConnectTimeout = tunnel.Duration(f.connect)
			f.l.IdleTimeout = tunnel.Duration(f.idle)
			cfg := tunnel.Config{Listeners: []tunnel.ListenerConfig{f.l}, Metrics: f.metrics, DrainTimeout: tunnel.Duration(f.drain),
				Log: tunnel.LogConfig{Format: f.logFormat, Level: f.logLevel}}
			return runTunnel(s, cfg, f.checkConfig)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.l.Name, "name", "", "listener name for metrics and logs (default <mode>-0)")
	fl.StringVar(&f.l.Listen, "listen", "", "address to listen on: host:port or unix:/path")
	fl.StringVar(&f.l.Target, "target", "", "address to forward to: host:port or unix:/path")
	fl.StringVar(&f.l.Policy, "policy", "prefer", "key-exchange policy: prefer, require or classical")
	fl.StringVar(&f.l.Groups, "groups", "", "override the policy's group list, e.g. X25519MLKEM768,X25519")
	fl.StringVar(&f.l.MinVersion, "min-version", "", "minimum TLS version: 1.3 (default) or 1.2")
	fl.StringVar(&f.l.Auth, "auth", "any", "authentication policy: any, prefer-pq (ML-DSA certificate first), require-pq (refuse peers without ML-DSA) or cnsa2 (ML-KEM-1024 + ML-DSA-87); all but any need Go 1.27 builds")
	fl.IntVar(&f.l.MaxConnections, "max-connections", tunnel.DefaultMaxConnections, "maximum concurrent connections")
	fl.DurationVar(&f.handshake, "handshake-timeout", tunnel.DefaultHandshakeTimeout, "TLS handshake deadline")
	fl.DurationVar(&f.connect, "connect-timeout", tunnel.DefaultConnectTimeout, "target connect deadline")
	fl.DurationVar(&f.idle, "idle-timeout", tunnel.DefaultIdleTimeout, "close connections idle in both directions this long")
	fl.StringVar(&f.metrics, "metrics", "", "serve /metrics, /healthz and /readyz on this address")
	fl.DurationVar(&f.drain, "drain-timeout", tunnel.DefaultDrainTimeout, "on SIGTERM, wait this long for connections to finish")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.BoolVar(&f.checkConfig, "check-config", false, "validate flags and load every certificate, then exit")
	fl.BoolVar(&f.l.UseWorkloadAPI, "use-workload-api", false, "take the certificate (X.509-SVID) and trust bundle from the SPIFFE Workload API, rotated without restart; exclusive with --cert/--key/--client-ca/--ca")
	fl.StringVar(&f.l.WorkloadAPIAddr, "workload-api-addr", "", "Workload API address, unix:///path or tcp://IP:port (default: $SPIFFE_ENDPOINT_SOCKET)")
	fl.StringSliceVar(&f.l.ALPN, "alpn", nil, "ALPN protocols to negotiate, e.g. h2,http/1.1 (default: none, so HTTP/1.1 backends never see HTTP/2)")
	fl.StringArrayVar(&f.certs, "cert", nil, "PEM certificate (server: required; client: for mTLS); server: repeat with --key for more certificates (e.g. ML-DSA and ECDSA with --auth prefer-pq)")
	fl.StringArrayVar(&f.keys, "key", nil, "PEM private key for --cert (repeat in the same order)")
	switch mode {
	case tunnel.ModeServer:
		fl.StringVar(&f.l.CA, "client-ca", "", "PEM bundle of CAs for client certificates (enables mTLS)")
		fl.StringArrayVar(&f.l.Allow.URI, "allow-uri", nil, "allow clients with this URI SAN (SPIFFE ID; * = one segment, trailing ** = one or more); repeatable")
		fl.StringArrayVar(&f.l.Allow.DNS, "allow-dns", nil, "allow clients with this DNS SAN (*.example.com allowed); repeatable")
		fl.StringArrayVar(&f.l.Allow.CN, "allow-cn", nil, "allow clients with this subject CN; repeatable")
		fl.StringArrayVar(&f.l.Allow.OU, "allow-ou", nil, "allow clients with this subject OU; repeatable")
		fl.BoolVar(&f.l.AllowRemoteTarget, "allow-remote-target", false, "allow a non-loopback target (plaintext leaves the host)")
		fl.BoolVar(&f.l.TargetTLS, "target-tls", false, "speak TLS to the target (a backend that only accepts TLS; TLS 1.2 and classical groups allowed on this local hop)")
		fl.StringVar(&f.l.TargetCA, "target-ca", "", "PEM bundle that verifies the target with --target-tls (default: system roots)")
		fl.StringVar(&f.l.TargetServerName, "target-server-name", "", "name to verify on the target with --target-tls (default: the target host)")
		fl.BoolVar(&f.l.ProxyProtocol, "proxy-protocol", false, "send a PROXY protocol v2 header (client address, TLS version, cipher, group, identity) to the target")
	case tunnel.ModeClient:
		fl.StringVar(&f.l.CA, "ca", "", "PEM bundle of CAs that verify the target (default: system roots)")
		fl.StringVar(&f.l.ServerName, "server-name", "", "name to send in SNI and verify (default: the target host)")
		fl.StringArrayVar(&f.l.Verify.URI, "verify-uri", nil, "accept a server with this URI SAN (SPIFFE ID; wildcards as --allow-uri); repeatable")
		fl.StringArrayVar(&f.l.Verify.DNS, "verify-dns", nil, "accept a server with this DNS SAN; repeatable")
		fl.BoolVar(&f.l.AllowRemoteListen, "allow-remote-listen", false, "allow a non-loopback listen address (it accepts plaintext)")
	}
	return cmd
}

// newTunnelLogger logs to buf: per-connection lines are batched, every
// other line is flushed at once.
func newTunnelLogger(buf *bufferedLog, c tunnel.LogConfig) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(orDefault(c.Level, "info"))))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(buf, opts)
	if c.Format == "json" {
		h = slog.NewJSONHandler(buf, opts)
	}
	return slog.New(flushOthers{Handler: h, buf: buf, batched: tunnel.ConnectionLogMessage})
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// configErrors prints a config error, one "pqtls: " line per problem (the
// tunnel reports every listener's error), and exits 2.
func configErrors(s streams, err error) error {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(s.errOut, "pqtls: %s\n", line)
	}
	return silentExit(exitUsage)
}

func runTunnel(s streams, cfg tunnel.Config, checkOnly bool) error {
	if checkOnly {
		warnings, err := tunnel.Check(cfg)
		for _, w := range warnings {
			fmt.Fprintf(s.errOut, "warning: %s\n", w)
		}
		if err != nil {
			return configErrors(s, err)
		}
		fmt.Fprintf(s.out, "config OK: %d listener(s)\n", len(cfg.Listeners))
		return nil
	}
	if _, err := cfg.Validate(); err != nil { // log config first
		return configErrors(s, err)
	}
	logOut := newBufferedLog(s.errOut)
	defer logOut.Close()
	logger := newTunnelLogger(logOut, cfg.Log)
	// Signals are registered before Start so none is lost during startup.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	t, err := tunnel.Start(context.Background(), cfg, tunnel.Options{Logger: logger, Registerer: daemonRegistry()})
	if err != nil {
		var ce *tunnel.ConfigError
		if errors.As(err, &ce) {
			return configErrors(s, err)
		}
		return failuref("%v", err)
	}
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			logger.Info("tunnel: SIGHUP received; reloading")
			_ = t.Reload()
			continue
		}
		logger.Info("tunnel: shutting down; draining connections", "signal", sig.String(), "drain_timeout", time.Duration(cfg.DrainTimeout).String(), "active", t.ActiveConnections())
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.DrainTimeout))
		// A second SIGTERM/SIGINT (an impatient operator, a second
		// Ctrl-C) cuts the drain short; SIGHUP still reloads.
		drained := make(chan struct{})
		go func() {
			for {
				select {
				case sig := <-sigs:
					if sig == syscall.SIGHUP {
						_ = t.Reload()
						continue
					}
					logger.Warn("tunnel: second signal; closing remaining connections now", "signal", sig.String(), "active", t.ActiveConnections())
					cancel()
					return
				case <-drained:
					return
				}
			}
		}()
		err := t.Shutdown(ctx)
		close(drained)
		cancel()
		if err != nil {
			logger.Warn("tunnel: drain timeout reached; remaining connections were closed")
		}
		logger.Info("tunnel: stopped")
		return nil
	}
	return nil
}
