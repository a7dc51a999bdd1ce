package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/outfile"
	"github.com/pqtls/pqtls/internal/report"
	"github.com/pqtls/pqtls/scan"
	"github.com/spf13/cobra"
)

type scanFlags struct {
	files       []string
	inventory   string
	format      string
	output      string
	starttls    string
	sni         string
	caFile      string
	certFile    string
	keyFile     string
	alpn        []string
	quick       bool
	exhaustive  bool
	groups      string
	timeout     time.Duration
	retries     int
	concurrency int
	perHost     int
	failOn      string
	sortBy      string
	color       string
	progress    string
	verbose     bool
	shard       string
	maxEnd      int
}

func newScanCmd(s streams) *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan [flags] [host:port | scheme://host:port | CIDR:ports | -] ...",
		Short: "Inventory endpoints for post-quantum readiness: groups, server preference, versions, certificates, verdicts",
		Long: `Scan TLS endpoints and report, for each, the TLS versions it accepts, every TLS 1.3 group of the
pqtls registry it supports (found with crafted ClientHellos, HelloRetryRequest-validated), its group
preference order, what a default modern client negotiates, TLS 1.2 ECDHE curves, the certificate chain,
a verdict (pq_ready, pq_capable, classical, tls12_only, no_tls, not_tls, reset, timeout, unreachable)
and a harvest-now-decrypt-later priority from inventory tags.

Targets: host:port arguments, -f FILE (one per line, # comments; '-' reads stdin), CIDR ranges with a
port list (10.0.0.0/30:443,8443), scheme prefixes for STARTTLS (postgres://db:5432, smtp://mx:25), and
a YAML inventory (--inventory fleet.yaml) with service, owner, protocol and tags (data_lifetime: 10y,
sensitivity: high). A name that resolves to several addresses is scanned at each address (SNI = name).

Fleets: --shard K/N scans one of N parts; 'pqtls scan merge' joins the JSON reports of the shards,
'pqtls scan diff OLD.json NEW.json' shows migration progress.

Exit status: 0 ok (unreachable endpoints among assessed ones are findings), 1 when --fail-on
matched (offenders are listed on stderr), no endpoint could be assessed, or the scan was
interrupted, 2 on usage errors (checked before any connection). See docs/SCAN.md.`,
		Example: `  pqtls scan example.internal:443
  pqtls scan --format json -o scan.json -f fleet.txt
  pqtls scan --inventory fleet.yaml --format html -o report.html --fail-on not-ready
  pqtls scan postgres://db.internal:5432 10.0.0.0/29:443,8443`,
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd.Context(), s, &f, args) },
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.files, "file", "f", nil, "read targets from FILE, one per line, # comments ('-' = stdin); repeatable")
	fl.StringVar(&f.inventory, "inventory", "", "YAML inventory of endpoints with service, owner, protocol and tags")
	fl.StringVar(&f.format, "format", "table", "output format: "+strings.Join(scan.FormatNames(), ", ")+" (cbom = CycloneDX 1.6)")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to FILE instead of stdout (a regular file is replaced atomically; a device or FIFO is written directly)")
	fl.StringVar(&f.starttls, "starttls", "", "preamble for every target: auto (by port), none, postgres, postgres-direct, mysql, smtp, imap, pop3, ftp, ldap, xmpp")
	fl.StringVar(&f.sni, "sni", "", "server name to send (default: the target's host name; none for IP targets)")
	fl.StringVar(&f.caFile, "ca", "", "PEM CA bundle to verify chains against (default: system roots)")
	fl.StringVar(&f.certFile, "cert", "", "client certificate PEM, for servers that require mTLS (with --key)")
	fl.StringVar(&f.keyFile, "key", "", "client private key PEM (with --cert)")
	fl.StringSliceVar(&f.alpn, "alpn", nil, "ALPN protocols to offer (e.g. h2,http/1.1)")
	fl.BoolVar(&f.quick, "quick", false, "one default-client handshake per endpoint, no group/version enumeration")
	fl.BoolVar(&f.exhaustive, "exhaustive", false, "also offer each registry group alone (one connection per group)")
	fl.StringVar(&f.groups, "groups", "", "probe only these groups (comma list; default: every group of 'pqtls groups')")
	fl.DurationVar(&f.timeout, "timeout", scan.DefaultTimeout, "timeout of each step (connect, preamble, handshake) of each connection")
	fl.IntVar(&f.retries, "retries", scan.DefaultRetries, "retries of an endpoint's first connection after a timeout or reset (0 = none)")
	fl.IntVar(&f.concurrency, "concurrency", scan.DefaultConcurrency, "endpoints scanned at once")
	fl.IntVar(&f.perHost, "per-host", scan.DefaultPerHost, "endpoints scanned at once on one IP address (0 = unlimited)")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 1 if an endpoint matches: not-ready, classical, tls12, error, draft, priority-high or a verdict (comma list)")
	fl.StringVar(&f.sortBy, "sort", "input", "endpoint order: input (deterministic, as given) or priority (migrate-first)")
	fl.StringVar(&f.color, "color", "auto", "colour the table: auto (only on a terminal), always, never")
	fl.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (only on a terminal), never")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log every probe to stderr")
	fl.StringVar(&f.shard, "shard", "", "scan only shard K of N (1-based, e.g. 2/4): N workers with 1/N...N/N cover the fleet exactly once")
	fl.IntVar(&f.maxEnd, "max-endpoints", scan.DefaultMaxEndpoints, "refuse to scan more endpoints than this (counted after --shard, before expanding ranges)")
	cmd.AddCommand(newScanMergeCmd(s), newScanDiffCmd(s))
	return cmd
}

// scanRun is what the scan flags parse to.
type scanRun struct {
	opts   scan.Options
	failOn []string
	shard  scan.Shard
	format scan.Format
}

// parse checks every flag; errors are usage errors (exit 2).
func (f *scanFlags) parse(s streams) (*scanRun, error) {
	format, err := scan.ParseFormat(f.format)
	if err != nil {
		return nil, usageErrorf("--format: %v", err)
	}
	for _, v := range []*string{&f.sortBy, &f.color, &f.progress} {
		*v = strings.ToLower(strings.TrimSpace(*v))
	}
	if f.sortBy != "input" && f.sortBy != "priority" {
		return nil, usageErrorf("unknown --sort %q: use input or priority", f.sortBy)
	}
	if f.color != "auto" && f.color != "always" && f.color != "never" {
		return nil, usageErrorf("unknown --color %q: use auto, always or never", f.color)
	}
	if f.progress != "auto" && f.progress != "never" {
		return nil, usageErrorf("unknown --progress %q: use auto or never", f.progress)
	}
	if f.timeout <= 0 {
		return nil, usageErrorf("--timeout must be positive, e.g. 5s")
	}
	if f.concurrency < 1 || f.perHost < 0 || f.retries < 0 {
		return nil, usageErrorf("--concurrency must be >= 1, --per-host and --retries >= 0")
	}
	if f.maxEnd < 1 {
		return nil, usageErrorf("--max-endpoints must be >= 1")
	}
	r := &scanRun{format: format}
	if f.shard != "" {
		if r.shard, err = scan.ParseShard(f.shard); err != nil {
			return nil, usageErrorf("--shard: %v", err)
		}
	}
	if r.failOn, err = scan.ParseFailOn(f.failOn); err != nil {
		return nil, usageErrorf("%v", err)
	}
	r.opts = scan.Options{Enumerate: !f.quick, Exhaustive: f.exhaustive, ServerName: f.sni, ALPN: f.alpn, Timeout: f.timeout,
		Retries: f.retries, Concurrency: f.concurrency, PerHost: f.perHost}
	if f.retries == 0 {
		r.opts.Retries = -1
	}
	if f.perHost == 0 {
		r.opts.PerHost = -1
	}
	if f.starttls != "" {
		if r.opts.StartTLS, err = scan.ParseProtocol(f.starttls); err != nil {
			return nil, usageErrorf("--starttls: %v", err)
		}
	}
	if f.groups != "" {
		gs, err := pqtls.ParseGroupList(f.groups)
		if err != nil {
			return nil, usageErrorf("--groups: %v", err)
		}
		for _, g := range gs {
			r.opts.Groups = append(r.opts.Groups, g.ID)
		}
	}
	if err := f.loadTLS(&r.opts); err != nil {
		return nil, err
	}
	if f.verbose {
		r.opts.Logger = slog.New(slog.NewTextHandler(s.errOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return r, nil
}

// loadTLS loads --ca and --cert/--key.
func (f *scanFlags) loadTLS(opts *scan.Options) error {
	var err error
	if opts.RootCAs, err = caFlag(f.caFile); err != nil {
		return err
	}
	opts.ClientCert, err = keyPairFlags(f.certFile, f.keyFile)
	return err
}

// useColour decides on ANSI colours: --color always/never, else only on a
// terminal standard output and when NO_COLOR is unset (https://no-color.org).
func useColour(mode string, out io.Writer, output string) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return (output == "" || output == "-") && os.Getenv("NO_COLOR") == "" && report.IsTerminal(out)
}

func runScan(ctx context.Context, s streams, f *scanFlags, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	run, err := f.parse(s)
	if err != nil {
		return err
	}
	specs, err := collectTargets(s, f, args)
	if err != nil {
		return usageErrorf("%v", err)
	}
	targets, err := scan.Expand(specs, run.opts, run.shard, f.maxEnd)
	if err != nil {
		return usageErrorf("%v (--max-endpoints %d): split the fleet with --shard K/N or raise --max-endpoints", err, f.maxEnd)
	}
	// The output is opened before any work: a directory, a FIFO without
	// reader or an unwritable path is a usage error, not a lost report.
	out, err := outfile.Create(cmp.Or(f.output, "-"), s.out)
	if err != nil {
		return usageErrorf("-o: %v", err)
	}
	defer out.Abort()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	targets = scan.ResolveEach(ctx, targets, nil)
	if len(targets) > f.maxEnd {
		return usageErrorf("the targets resolve to %d endpoints, more than --max-endpoints %d: split the fleet with --shard K/N or raise --max-endpoints", len(targets), f.maxEnd)
	}

	bar := newProgressBar(s.errOut, f.progress != "never" && report.IsTerminal(s.errOut) && len(targets) > 1)
	run.opts.Progress = bar.update
	started := time.Now()
	results := scan.ScanAll(ctx, targets, run.opts)
	bar.finish()
	interrupted := ctx.Err() != nil
	if f.sortBy == "priority" {
		results = scan.ByPriority(results)
	}
	rep := scan.NewReport(results, run.opts, buildVersion(), started, time.Since(started))
	ro := scan.RenderOptions{Colour: useColour(f.color, s.out, f.output), Terminal: report.IsTerminal(s.out) && cmp.Or(f.output, "-") == "-"}
	if err := run.format.Write(out, rep, ro); err != nil {
		return failuref("write report: %v", err)
	}
	if err := out.Commit(); err != nil {
		return failuref("%v", err)
	}
	return scanExit(s, f, run, results, interrupted)
}

// scanExit reports an interrupt or the --fail-on offenders.
func scanExit(s streams, f *scanFlags, run *scanRun, results []scan.Result, interrupted bool) error {
	if interrupted {
		// The report is written anyway (atomically with -o): endpoints
		// finished before the interrupt keep their results, the others
		// are marked timeout/canceled.
		n := 0
		for _, r := range results {
			if r.Reason != pqtls.ReasonCanceled {
				n++
			}
		}
		return failuref("scan interrupted: %d of %d endpoints finished; the report marks the others timeout (canceled); rerun to scan them", n, len(results))
	}
	if off, why := scan.Offenders(results, run.failOn); len(off) > 0 {
		fmt.Fprintf(s.errOut, "pqtls scan: %d of %d endpoints match --fail-on %s:\n", len(off), len(results), f.failOn)
		for i, r := range off {
			fmt.Fprintf(s.errOut, "  %s  %s (%s) [%s]\n", r.Address, r.Verdict, report.TermSafe(r.Reason), why[i])
		}
		return silentExit(exitFailure)
	}
	// An unreachable endpoint in a fleet is a finding (exit 0, or 1 with
	// --fail-on error); a run that could assess no endpoint at all (a
	// single target that is down, a wrong port) is a runtime failure.
	assessed := 0
	for _, r := range results {
		if r.Verdict.Scanned() {
			assessed++
		}
	}
	if len(results) > 0 && assessed == 0 {
		r := results[0]
		return failuref("no endpoint could be assessed (%s: %s, %s): check the address and port, and --starttls for a protocol that starts in plain text; the report is written", r.Address, r.Verdict, report.TermSafe(r.Reason))
	}
	return nil
}

func collectTargets(s streams, f *scanFlags, args []string) ([]scan.Spec, error) {
	var out []scan.Spec
	stdinUsed := false
	for i, a := range args {
		if a == "-" {
			if stdinUsed {
				return nil, fmt.Errorf("stdin ('-') given twice")
			}
			stdinUsed = true
			ts, err := scan.ParseTargetList(s.in, "stdin")
			if err != nil {
				return nil, err
			}
			out = append(out, ts...)
			continue
		}
		sp, err := scan.ParseSpec(a, fmt.Sprintf("argument %d", i+1))
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	for _, file := range f.files {
		if file == "-" {
			if stdinUsed {
				return nil, fmt.Errorf("stdin ('-') given twice")
			}
			stdinUsed = true
		}
		ts, err := scan.ReadTargetFile(file, s.in)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	if f.inventory != "" {
		ts, err := scan.ReadInventory(f.inventory)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no targets: give host:port arguments, -f FILE or --inventory FILE (see 'pqtls scan --help')")
	}
	return out, nil
}

// progressBar draws "[=====     ] 12/40" on stderr, only when enabled.
type progressBar struct {
	mu      sync.Mutex
	w       io.Writer
	enabled bool
	last    time.Time
}

func newProgressBar(w io.Writer, enabled bool) *progressBar {
	return &progressBar{w: w, enabled: enabled}
}

func (p *progressBar) update(done, total int) {
	if !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if done < total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	n := width * done / max(total, 1)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d endpoints", strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total)
}

func (p *progressBar) finish() {
	if p.enabled {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

func newScanMergeCmd(s streams) *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "merge REPORT.json... [-o fleet.json]",
		Short: "Merge pqtls.scan/v1 JSON reports (the shards of a fleet) into one",
		Long: `Merge JSON scan reports into one pqtls.scan/v1 report with the same endpoints[] shape. Endpoints are
keyed by (address, STARTTLS, SNI); of duplicates the newest scanned_at wins, else the one from the
report with the later generated_at. endpoints[].source names the report each endpoint came from; the
summary is recomputed. Exit status: 0 ok, 2 on a missing or invalid report.`,
		Example: `  pqtls scan merge shard-1.json shard-2.json shard-3.json -o fleet.json`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := scan.ParseFormat(format)
			if err != nil {
				return usageErrorf("--format: %v", err)
			}
			reps, err := readReports(s, args)
			if err != nil {
				return err
			}
			return writeOutput(s, output, func(w io.Writer) error {
				return f.Write(w, scan.Merge(reps, args, buildVersion()), scan.RenderOptions{Terminal: output == "" && report.IsTerminal(s.out)})
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "json", "output format: "+strings.Join(scan.FormatNames(), ", "))
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the merged report to FILE instead of stdout")
	return cmd
}

func newScanDiffCmd(s streams) *cobra.Command {
	var format, output, failOn string
	cmd := &cobra.Command{
		Use:   "diff OLD.json NEW.json",
		Short: "Migration progress between two scan reports: newly_hybrid, regressed, new, gone, unchanged, errored",
		Long: `Compare two pqtls.scan/v1 JSON reports endpoint by endpoint (keyed by address, STARTTLS, SNI) and
put each endpoint in one category: newly_hybrid, regressed (hybrid -> classical, or a hybrid group
lost), new, gone, unchanged, errored (assessed before, failing now: not a regression).
Exit status: 0 ok, 1 when a --fail-on category is not empty, 2 on bad input.`,
		Example: `  pqtls scan diff last-week.json fleet.json
  pqtls scan diff --format html -o progress.html last-week.json fleet.json
  pqtls scan diff --fail-on regressed last-week.json fleet.json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := scan.ParseDiffFormat(format)
			if err != nil {
				return usageErrorf("--format: %v", err)
			}
			cats, err := scan.ParseDiffCategories(failOn)
			if err != nil {
				return usageErrorf("--fail-on: %v", err)
			}
			reps, err := readReports(s, args)
			if err != nil {
				return err
			}
			d := scan.Compare(reps[0], reps[1], args[0], args[1])
			if err := writeOutput(s, output, func(w io.Writer) error { return f.Write(w, d) }); err != nil {
				return err
			}
			if hit := d.Has(cats); len(hit) > 0 {
				for _, c := range hit {
					n, noun := d.Counts[string(c)], "endpoints"
					if n == 1 {
						noun = "endpoint"
					}
					fmt.Fprintf(s.errOut, "pqtls scan diff: %d %s %s (--fail-on)\n", n, noun, c)
				}
				return silentExit(exitFailure)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or html")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the diff to FILE instead of stdout")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit 1 when one of these categories is not empty (comma list, e.g. regressed,errored)")
	return cmd
}

// readReports reads JSON scan reports; a bad one is a usage error.
func readReports(s streams, paths []string) ([]*scan.Report, error) {
	var out []*scan.Report
	for _, p := range paths {
		r, err := scan.ReadReport(p, s.in)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// writeOutput writes through internal/outfile ("" = stdout); a path that
// cannot be opened is a usage error.
func writeOutput(s streams, path string, write func(io.Writer) error) error {
	out, err := outfile.Create(cmp.Or(path, "-"), s.out)
	if err != nil {
		return usageErrorf("-o: %v", err)
	}
	defer out.Abort()
	if err := write(out); err != nil {
		return failuref("write: %v", err)
	}
	if err := out.Commit(); err != nil {
		return failuref("%v", err)
	}
	return nil
}
