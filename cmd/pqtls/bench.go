package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/bench"
	"github.com/pqtls/pqtls/internal/outfile"
	"github.com/pqtls/pqtls/internal/report"
	"github.com/spf13/cobra"
)

func newBenchCmd(s streams) *cobra.Command {
	var (
		o                    bench.Options
		mode, format, groups string
		ca, cert, key, sni   string
		insecure, plain      bool
		readyFile            string
	)
	cmd := &cobra.Command{
		Use:   "bench [TARGET]",
		Short: "Load-test any TLS endpoint: concurrent handshakes, round trips, echo streams or idle connections",
		Long: `pqtls bench opens N concurrent handshakes or streams against a TLS target and reports the rate,
latency percentiles and negotiated groups, so you can measure what hybrid key exchange costs on
your own servers (phase 3). Modes:
  handshake   connect + full handshake + close, repeatedly (no resumption)
  rr          one connection per worker, write --size bytes and read them back (target must echo)
  throughput  one connection per worker streams for --duration and reads the echo
  idle        open --concurrency connections and hold them for --duration

  pqtls bench db.internal:5433 --ca ca.pem --mode handshake -c 16 --duration 10s
  pqtls bench 127.0.0.1:15432 --plain --mode rr --format json     (--target TARGET works too)
  pqtls bench echo-server --listen 127.0.0.1:9000 --cert c.pem --key k.pem   (reference server)`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("bench takes one target (got %d arguments): pqtls bench HOST:PORT", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return benchRun(s, args, o, benchFlags{mode: mode, format: format, groups: groups, ca: ca, cert: cert, key: key, sni: sni,
				insecure: insecure, plain: plain, readyFile: readyFile})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Target, "target", "", "host:port or unix:/path to load (or give it as the argument)")
	fl.StringVar(&mode, "mode", "handshake", "handshake, rr, throughput or idle")
	fl.IntVarP(&o.Concurrency, "concurrency", "c", 8, "concurrent workers (idle: connections)")
	fl.DurationVar(&o.Duration, "duration", 10*time.Second, "run time (idle: hold time)")
	fl.Int64Var(&o.Count, "count", 0, "stop after this many successful operations (handshake, rr)")
	fl.IntVar(&o.Size, "size", 0, "payload bytes: rr round trip (64), throughput write (32768), idle (16)")
	fl.DurationVar(&o.Timeout, "timeout", 10*time.Second, "deadline for each network step")
	fl.StringVar(&ca, "ca", "", "PEM bundle that verifies the target (default: system roots)")
	fl.StringVar(&cert, "cert", "", "client certificate for mTLS targets")
	fl.StringVar(&key, "key", "", "client key for --cert")
	fl.StringVar(&sni, "server-name", "", "SNI and name to verify (default: target host)")
	fl.StringVar(&groups, "groups", "", "groups to offer, e.g. X25519MLKEM768 or x25519 (default: Go's, hybrid first)")
	fl.BoolVar(&insecure, "insecure", false, "do not verify the target certificate (measurement only)")
	fl.BoolVar(&plain, "plain", false, "the target speaks plaintext (e.g. a tunnel client-mode listener)")
	fl.StringVar(&readyFile, "ready-file", "", "idle mode: write the number of open connections to this file once they are all open (for scripts that measure the server meanwhile)")
	fl.StringVar(&format, "format", "text", "output: text or json (schema "+bench.Schema+")")
	cmd.AddCommand(newBenchEchoCmd(s))
	return cmd
}

// benchFlags are the command-line settings of bench outside Options.
type benchFlags struct {
	mode, format, groups, ca, cert, key, sni, readyFile string
	insecure, plain                                     bool
}

// benchRun checks the flags and the target (usage errors before any
// traffic), runs the load and writes the result.
func benchRun(s streams, args []string, o bench.Options, f benchFlags) error {
	mode, format, groups, ca, cert, key, sni, readyFile, insecure, plain := f.mode, f.format, f.groups, f.ca, f.cert, f.key, f.sni, f.readyFile, f.insecure, f.plain
	if len(args) == 1 {
		if o.Target != "" && o.Target != args[0] {
			return usageErrorf("two targets: %q and --target %q; give one", args[0], o.Target)
		}
		o.Target = args[0]
	}
	if o.Target == "" {
		return usageErrorf("no target: pqtls bench HOST:PORT (or unix:/path); run 'pqtls bench --help'")
	}
	if _, _, err := bench.ParseTarget(o.Target); err != nil {
		return usageErrorf("%v", err)
	}
	m, err := bench.ParseMode(mode)
	if err != nil {
		return usageErrorf("%v", err)
	}
	o.Mode = m
	format = strings.ToLower(strings.TrimSpace(format))
	if format != "text" && format != "json" {
		return usageErrorf("unknown --format %q: use text or json", format)
	}
	if !plain {
		cfg, err := benchTLSConfig(ca, cert, key, sni, groups, insecure)
		if err != nil {
			return usageErrorf("%v", err)
		}
		o.TLS = cfg
	}
	var ready *outfile.File
	if readyFile != "" {
		// Opened before any work; committed (renamed into place) once
		// the connections are open, so a reader never sees a
		// half-written file.
		f, err := outfile.Create(readyFile, s.out)
		if err != nil {
			return usageErrorf("--ready-file: %v", err)
		}
		ready = f
		defer ready.Abort()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.Mode == bench.ModeIdle {
		o.OnReady = func(n int) {
			if report.IsTerminal(s.errOut) {
				fmt.Fprintf(s.errOut, "holding %d idle connections for %s\n", n, o.Duration)
			}
			if ready != nil {
				_, err := fmt.Fprintf(ready, "%d\n", n)
				if err == nil {
					err = ready.Commit()
				}
				if err != nil {
					fmt.Fprintf(s.errOut, "pqtls: --ready-file: %v\n", err)
				}
			}
		}
	}
	res, err := bench.Run(ctx, o)
	if res != nil {
		if format == "json" {
			enc := json.NewEncoder(s.out)
			enc.SetIndent("", "  ")
			_ = enc.Encode(res)
		} else {
			printBench(s, res)
		}
	}
	if err != nil {
		return failuref("%v", err)
	}
	return nil
}

func benchTLSConfig(ca, cert, key, sni, groups string, insecure bool) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: sni, InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12}
	var err error
	if cfg.RootCAs, err = caFlag(ca); err != nil {
		return nil, err
	}
	c, err := keyPairFlags(cert, key)
	if err != nil {
		return nil, err
	}
	if c != nil {
		cfg.Certificates = []tls.Certificate{*c}
	}
	if groups != "" {
		gs, err := pqtls.ParseGroupList(groups)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			if !g.GoSupported {
				return nil, fmt.Errorf("group %s cannot be offered by Go's crypto/tls", g.Name)
			}
			cfg.CurvePreferences = append(cfg.CurvePreferences, g.ID)
		}
	}
	return cfg, nil
}

func printBench(s streams, r *bench.Result) {
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "target\t%s (%s, tls=%v)\n", r.Target, r.Mode, r.TLS)
	fmt.Fprintf(tw, "concurrency\t%d\n", r.Concurrency)
	fmt.Fprintf(tw, "duration\t%.2fs\n", r.DurationSeconds)
	fmt.Fprintf(tw, "operations\t%d (%.1f/s)\n", r.Operations, r.Rate)
	if r.Mode == bench.ModeIdle {
		fmt.Fprintf(tw, "open connections\t%d\n", r.OpenConnections)
	}
	if r.EchoedBytes > 0 {
		fmt.Fprintf(tw, "echoed\t%d bytes (%.1f MiB/s)\n", r.EchoedBytes, r.BytesPerSecond/(1<<20))
	}
	fmt.Fprintf(tw, "latency ms\tp50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max, r.Latency.Mean)
	fmt.Fprintf(tw, "groups\t%s\n", countMap(r.Groups))
	fmt.Fprintf(tw, "versions\t%s\n", countMap(r.Versions))
	fmt.Fprintf(tw, "errors\t%d %s\n", r.Errors, countMap(r.ErrorReasons))
	if r.FirstError != "" {
		fmt.Fprintf(tw, "first error\t%s\n", r.FirstError)
	}
	_ = tw.Flush()
}

func countMap(m map[string]int64) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func newBenchEchoCmd(s streams) *cobra.Command {
	var listen, cert, key string
	var plain bool
	cmd := &cobra.Command{
		Use:   "echo-server",
		Short: "Run a reference echo server: plaintext, or TLS from Go's crypto/tls with its defaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if listen == "" {
				return usageErrorf("--listen is required")
			}
			var cfg *tls.Config
			if !plain {
				if cert == "" || key == "" {
					return usageErrorf("give --cert and --key, or --plain for a plaintext echo server")
				}
				c, err := keyPairFlags(cert, key)
				if err != nil {
					return err
				}
				cfg = &tls.Config{Certificates: []tls.Certificate{*c}, MinVersion: tls.VersionTLS13}
			}
			network, addr := "tcp", listen
			if p, ok := strings.CutPrefix(listen, "unix:"); ok {
				network, addr = "unix", p
			}
			ln, err := net.Listen(network, addr)
			if err != nil {
				return failuref("%v", err)
			}
			srv := bench.NewEchoServer(ln, cfg)
			fmt.Fprintf(s.errOut, "echo server on %s (tls=%v)\n", srv.Addr(), cfg != nil)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return srv.Close()
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "host:port or unix:/path")
	cmd.Flags().StringVar(&cert, "cert", "", "PEM certificate")
	cmd.Flags().StringVar(&key, "key", "", "PEM key")
	cmd.Flags().BoolVar(&plain, "plain", false, "plaintext echo")
	return cmd
}
