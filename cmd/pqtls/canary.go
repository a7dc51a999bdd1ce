package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pqtls/pqtls/canary"
	"github.com/pqtls/pqtls/internal/report"
	"github.com/spf13/cobra"
)

func newCanaryCmd(s streams) *cobra.Command {
	var (
		o       canary.Options
		format  string
		cases   string
		caFile  string
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "canary host:port",
		Short: "Check that a path and server carry hybrid ClientHellos, and measure what hybrid costs",
		Long: `canary runs a matrix of handshakes against one server, through the real network, each case
repeated --count times: a classical baseline, a hybrid X25519MLKEM768 ClientHello written at once,
split over two TCP segments, split over several TLS records, SecP384r1MLKEM1024, padded to 4 KB and
16 KB, the HelloRetryRequest path, and full Go handshakes classical vs hybrid. It reports success
rates, failure classes, latency percentiles, bytes, what the client knows of the path (MTU, MSS,
a DF-bit path-MTU probe when run as root) and a verdict in plain words.

Exit status: 0 hybrid is safe on this path (OK, or the server is classical-only and offering hybrid
is harmless), 1 it is not, 2 usage error. See docs/CANARY.md.`,
		Example: `  pqtls canary db.internal:5432 --starttls postgres --count 20
  pqtls canary api.internal:443 --format json > canary.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("canary needs exactly one target host:port (got %d arguments); e.g. pqtls canary api.internal:443", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Target = args[0]
			return canaryRun(cmd, s, o, canaryFlags{format: format, cases: cases, caFile: caFile, verbose: verbose})
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.Count, "count", "n", canary.DefaultCount, "repetitions of each case")
	f.StringVar(&o.StartTLS, "starttls", "", "clear-text preamble before TLS: "+strings.Join(canary.StartTLSProtocols, ", "))
	f.StringVar(&o.ServerName, "server-name", "", "SNI to send (default: the target host, none for an IP address)")
	f.StringVar(&format, "format", "text", "output format: text or json (schema "+canary.Schema+")")
	f.DurationVar(&o.Timeout, "timeout", canary.DefaultTimeout, "deadline of each attempt (connect, preamble, handshake)")
	f.DurationVar(&o.SplitPause, "split-pause", canary.DefaultSplitPause, "pause between the two TCP segments of the hybrid-split-tcp case")
	f.StringVar(&cases, "cases", "", "comma-separated cases to run (default all; the classical baselines always run): "+strings.Join(canary.CaseNames(), ", "))
	f.StringVar(&caFile, "ca", "", "PEM CA file to verify the server certificate in the full handshakes (default: not verified; no data is sent)")
	f.StringVar(&o.PMTU, "pmtu", canary.PMTUAuto, "DF-bit path-MTU probe with ICMP echo: auto (when root), on, off")
	f.BoolVar(&o.RequireHybrid, "require-hybrid", false, "exit 1 when the server negotiates only classical groups")
	f.BoolVarP(&verbose, "verbose", "v", false, "text output: show the case descriptions and first errors")
	return cmd
}

// canaryFlags are the command-line settings of canary outside Options.
type canaryFlags struct {
	format, cases, caFile string
	verbose               bool
}

// canaryRun checks the flags (usage errors before any traffic), runs the
// matrix and writes the report.
func canaryRun(cmd *cobra.Command, s streams, o canary.Options, fl canaryFlags) error {
	format, cases, caFile, verbose := fl.format, fl.cases, fl.caFile, fl.verbose
	format = strings.ToLower(strings.TrimSpace(format))
	if format != "text" && format != "json" {
		return usageErrorf("unknown --format %q: use text or json", format)
	}
	if cases != "" {
		o.Cases = strings.Split(cases, ",")
	}
	if o.Count < 1 {
		return usageErrorf("--count %d: give at least 1", o.Count)
	}
	if o.Timeout <= 0 {
		return usageErrorf("--timeout %v: give a positive duration such as 5s", o.Timeout)
	}
	if err := canary.CheckStartTLS(o.StartTLS); err != nil {
		return usageErrorf("--starttls: %v", err)
	}
	var err error
	if o.RootCAs, err = caFlag(caFile); err != nil {
		return err
	}
	if err := canary.ValidateOptions(&o); err != nil {
		return usageErrorf("%v", err)
	}
	if report.IsTerminal(s.errOut) {
		o.Progress = func(done, total int) {
			fmt.Fprintf(s.errOut, "\rcanary: %d/%d attempts", done, total)
			if done == total {
				fmt.Fprint(s.errOut, "\r\033[K")
			}
		}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	rep, err := canary.Run(ctx, o)
	if o.Progress != nil && ctx.Err() != nil {
		fmt.Fprint(s.errOut, "\r\033[K") // an interrupted run leaves the progress line behind
	}
	if err != nil {
		return usageErrorf("%v", err)
	}
	if format == "json" {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return failuref("writing the report: %v", err)
		}
	} else if err := writeCanaryText(s.out, rep, verbose); err != nil {
		return failuref("writing the report: %v", err)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(s.errOut, "pqtls: canary interrupted: the report covers the attempts made so far")
		return silentExit(exitFailure)
	}
	if !rep.Verdict.Safe {
		return silentExit(exitFailure)
	}
	return nil
}

func writeCanaryText(w io.Writer, r *canary.Report, verbose bool) error {
	sni := r.ServerName
	if sni == "" {
		sni = "-"
	}
	pre := ""
	if r.StartTLS != "" {
		pre = ", starttls " + r.StartTLS
	}
	fmt.Fprintf(w, "pqtls canary %s (SNI %s%s, %d per case, timeout %v)\n\n", r.Target, sni, pre, r.Count, time.Duration(r.TimeoutMs*float64(time.Millisecond)))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tHELLO\tOK\tCLASSES\tGROUP\tP50 ms\tP90 ms\tP99 ms\tMAX ms\tSENT\tRECV")
	for _, c := range r.Cases {
		hello := "-"
		if c.HelloBytes > 0 {
			hello = fmt.Sprintf("%d B", c.HelloBytes)
		}
		group := c.SelectedGroup
		if group == "" {
			group = "-"
		}
		if c.HelloRetries > 0 {
			group += " (HRR)"
		}
		ok := fmt.Sprintf("%d/%d", c.OK, c.Attempts)
		if c.Attempts == 0 {
			ok = "not run" // the run stopped or was interrupted first
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", c.Name, hello, ok, classes(c.Classes), group,
			msCell(c.Latency.P50, c.Latency.Samples), msCell(c.Latency.P90, c.Latency.Samples), msCell(c.Latency.P99, c.Latency.Samples), msCell(c.Latency.Max, c.Latency.Samples), c.BytesSent, c.BytesReceived)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if verbose {
		fmt.Fprintln(w)
		for _, c := range r.Cases {
			fmt.Fprintf(w, "%s: %s\n", c.Name, c.Description)
			for _, e := range c.Errors {
				fmt.Fprintf(w, "    error: %s\n", e)
			}
		}
	}
	p := r.Path
	fmt.Fprintln(w)
	if p.LocalAddr != "" {
		fmt.Fprintf(w, "Path: %s -> %s", p.LocalAddr, p.RemoteAddr)
		if p.Interface != "" {
			fmt.Fprintf(w, " via %s (MTU %d)", p.Interface, p.InterfaceMTU)
		}
		fmt.Fprintf(w, ", route MTU %d, TCP MSS %d, RTT %.2f ms, retransmits %d\n", p.RouteMTU, p.MSS, p.RTTMs, p.Retransmits)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "Path note: %s\n", n)
	}
	if pm := p.PMTU; pm != nil {
		switch pm.Status {
		case canary.PMTUStatusOK:
			fmt.Fprintf(w, "PMTU probe: path MTU %d bytes", pm.PathMTU)
			if pm.SmallestLost > 0 {
				fmt.Fprintf(w, ", %d-byte packets lost", pm.SmallestLost)
			}
			if pm.BlackHole {
				fmt.Fprint(w, ", no ICMP too-big received: black hole")
			}
			fmt.Fprintf(w, " (%d probes)\n", pm.Probes)
		default:
			fmt.Fprintf(w, "PMTU probe: %s: %s\n", pm.Status, pm.Reason)
		}
	}
	v := r.Verdict
	fmt.Fprintf(w, "\nVerdict [%s]: %s\n", v.Code, v.Summary)
	for _, a := range v.Advice {
		fmt.Fprintf(w, "  - %s\n", a)
	}
	if len(v.Warnings) > 0 {
		fmt.Fprintln(w, "Warnings:")
		for _, a := range v.Warnings {
			fmt.Fprintf(w, "  - %s\n", a)
		}
	}
	return nil
}

func msCell(v float64, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// classes formats the class counts, ok first.
func classes(m map[string]int) string {
	var parts []string
	if n := m["ok"]; n > 0 {
		parts = append(parts, fmt.Sprintf("ok %d", n))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "ok" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
