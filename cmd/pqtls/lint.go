package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/pqtls/pqtls/internal/outfile"
	"github.com/pqtls/pqtls/internal/report"
	"github.com/pqtls/pqtls/lint"
	"github.com/spf13/cobra"
)

type lintFlags struct {
	format          string
	failOn          string
	excludes        []string
	disable         []string
	includeTestdata bool
	noGitignore     bool
	baseline        string
	writeBaseline   string
	explain         string
	listRules       bool
	output          string
	color           string
	fix             bool
	dryRun          bool
}

func newLintCmd(s streams) *cobra.Command {
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Find configs and code that keep TLS classical (curve lists, TLS 1.2 caps, GODEBUG, old toolchains)",
		Long: `pqtls lint reads repositories and reports every setting that keeps a service on
classical key exchange: Go tls.Config curve lists and version caps, GODEBUG switches,
go.mod versions, Dockerfile images, Envoy, nginx, HAProxy, stunnel, Caddy, Traefik,
Istio, Node.js, Java and OpenSSL settings, AWS load balancer listeners in Terraform,
CloudFormation and Pulumi YAML, postgresql.conf, Kafka properties, Cargo.toml and
Cargo.lock, and pqtls's own policy. Each finding names
the rule, file:line:column and the replacement text.

It walks PATHs (default: the current directory), honours .gitignore, and skips .git,
vendor, node_modules, third_party, testdata (see --include-testdata) and generated Go
files. --fix applies every mechanical fix in place (atomically, keeping mode and owner),
skipping baselined findings, overlapping fixes and upgrades (which need a human), then
reports what remains; --fix --dry-run prints the change as a unified diff instead.
Exit status: 0 when no (remaining) finding reaches --fail-on, 1 when one does, 2 on
usage or I/O errors, checked before any work. Rule reference: docs/LINT.md, or
--explain RULE.`,
		Example: `  pqtls lint .
  pqtls lint --format sarif --output pqtls-lint.sarif deploy/ services/
  pqtls lint --fail-on warning --exclude '**/*_test.go'
  pqtls lint --write-baseline .pqtls-lint-baseline.json   # adopt on a large repo
  pqtls lint --baseline .pqtls-lint-baseline.json         # then report only new findings
  pqtls lint --fix --dry-run infra/      # show the fixes as a diff
  pqtls lint --fix infra/                # apply them, report what remains
  pqtls lint --explain PQ101`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLint(cmd.Context(), s, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "human", "output format: human, json (schema pqtls.lint/v1) or sarif (SARIF 2.1.0)")
	fl.StringVar(&f.failOn, "fail-on", "error", "exit 1 when a finding has this severity or higher: error, warning, info or none")
	fl.StringArrayVar(&f.excludes, "exclude", nil, "skip files and directories matching this gitignore-style glob (repeatable), e.g. '**/*_test.go'")
	fl.StringArrayVar(&f.disable, "disable", nil, "do not report this rule ID or name (repeatable)")
	fl.BoolVar(&f.includeTestdata, "include-testdata", false, "also lint testdata directories (skipped by default: they hold deliberate bad fixtures)")
	fl.BoolVar(&f.noGitignore, "no-gitignore", false, "lint files that .gitignore excludes")
	fl.StringVar(&f.baseline, "baseline", "", "hide findings recorded in this baseline file")
	fl.StringVar(&f.writeBaseline, "write-baseline", "", "record every current finding in this baseline file and exit 0")
	fl.StringVar(&f.explain, "explain", "", "print the rationale, examples and references of a rule (ID or name) and exit")
	fl.BoolVar(&f.listRules, "list-rules", false, "list every rule and exit")
	fl.StringVarP(&f.output, "output", "o", "", "write the report (or the --dry-run diff) to this file instead of standard output: a regular file is replaced atomically, a device or FIFO written in place, - is standard output")
	fl.StringVar(&f.color, "color", "auto", "colour the human format: auto (only on a terminal, unless NO_COLOR is set), always or never")
	fl.BoolVar(&f.fix, "fix", false, "apply every mechanical fix in place (not upgrades, not overlapping fixes, not baselined findings), print what changed on standard error, then report what remains")
	fl.BoolVar(&f.dryRun, "dry-run", false, "with --fix: print the fixes as a unified diff and change nothing")
	return cmd
}

func runLint(ctx context.Context, s streams, f lintFlags, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if f.explain != "" {
		r, ok := lint.LookupRule(f.explain)
		if !ok {
			return usageErrorf("%v", &lint.RuleError{Rule: f.explain})
		}
		_, err := io.WriteString(s.out, lint.Explain(r))
		return err
	}
	if f.listRules {
		tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSEVERITY\tFORMAT\tSUMMARY")
		for _, r := range lint.Rules() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Severity, shortFormat(r.Format), r.Summary)
		}
		return tw.Flush()
	}
	failOn, opts, err := f.parse()
	if err != nil {
		return err
	}
	// Every output is opened before any work: a directory or an
	// unwritable path is exit 2 with nothing linted.
	out, err := f.openOutput(s)
	if err != nil {
		return err
	}
	defer out.Abort()
	if report.IsTerminal(s.errOut) {
		opts.Progress = func(n int) {
			if n%250 == 0 {
				fmt.Fprintf(s.errOut, "\rpqtls lint: %d files checked", n)
			}
		}
		defer fmt.Fprint(s.errOut, "\r\x1b[K")
	}
	res, err := runLintOnce(ctx, args, opts)
	if err != nil {
		return err
	}
	switch {
	case f.writeBaseline != "":
		return writeLintBaseline(s, f, res, out)
	case f.fix:
		if res, err = fixLint(ctx, s, f, res, args, opts, out); err != nil {
			return err
		}
	default:
		if err := writeLintReport(f, res, out, s.out); err != nil {
			return err
		}
	}
	if err := out.Commit(); err != nil {
		return failuref("%v", err)
	}
	if failOn != 0 && res.Max() >= failOn {
		return silentExit(exitFailure)
	}
	return nil
}

// parse checks every flag (exit 2 before any work) and builds the options.
func (f lintFlags) parse() (lint.Severity, lint.Options, error) {
	var opts lint.Options
	switch f.format {
	case "human", "json", "sarif":
	default:
		return 0, opts, usageErrorf("unknown --format %q: use human, json or sarif", f.format)
	}
	var failOn lint.Severity
	if f.failOn != "none" {
		sev, err := lint.ParseSeverity(f.failOn)
		if err != nil {
			return 0, opts, usageErrorf("bad --fail-on: %v (or none)", err)
		}
		failOn = sev
	}
	switch f.color {
	case "auto", "always", "never":
	default:
		return 0, opts, usageErrorf("unknown --color %q: use auto, always or never", f.color)
	}
	switch {
	case f.baseline != "" && f.writeBaseline != "":
		return 0, opts, usageErrorf("--baseline and --write-baseline cannot be combined: --write-baseline records every current finding on its own")
	case f.fix && f.writeBaseline != "":
		return 0, opts, usageErrorf("--fix and --write-baseline cannot be combined: fix first, then record what remains")
	case f.dryRun && !f.fix:
		return 0, opts, usageErrorf("--dry-run needs --fix (pqtls lint --fix --dry-run prints the fixes as a diff)")
	}
	opts = lint.Options{Excludes: f.excludes, Disable: f.disable, IncludeTestdata: f.includeTestdata, NoGitignore: f.noGitignore}
	if f.baseline != "" {
		b, err := lint.ReadBaseline(f.baseline)
		if err != nil {
			return 0, opts, usageErrorf("%v", err)
		}
		opts.Baseline = b
	}
	return failOn, opts, nil
}

// openOutput opens the one file the run writes (the baseline, or the report
// or diff with -o), or standard output.
func (f lintFlags) openOutput(s streams) (*outfile.File, error) {
	path := f.output
	if f.writeBaseline != "" {
		path = f.writeBaseline
	}
	if path == "" {
		path = "-"
	}
	out, err := outfile.Create(path, s.out)
	if err != nil {
		return nil, usageErrorf("cannot write %v", err)
	}
	return out, nil
}

func runLintOnce(ctx context.Context, args []string, opts lint.Options) (*lint.Result, error) {
	res, err := lint.Lint(ctx, args, opts)
	if err != nil {
		var pe *lint.PathError
		var pat *lint.PatternError
		var re *lint.RuleError
		if errors.As(err, &pe) || errors.As(err, &pat) || errors.As(err, &re) {
			return nil, usageErrorf("%v", err)
		}
		return nil, failuref("lint failed: %v", err)
	}
	return res, nil
}

func writeLintBaseline(s streams, f lintFlags, res *lint.Result, out *outfile.File) error {
	b, err := lint.NewBaselineFile(res, f.writeBaseline)
	if err != nil {
		return failuref("%v", err)
	}
	if err := b.Write(out); err != nil {
		return failuref("cannot write %s: %v", f.writeBaseline, err)
	}
	if err := out.Commit(); err != nil {
		return failuref("%v", err)
	}
	fmt.Fprintf(s.errOut, "pqtls lint: recorded %d finding(s) in %s; run with --baseline %s to report only new ones\n", len(res.Findings), f.writeBaseline, f.writeBaseline)
	return nil
}

func writeLintReport(f lintFlags, res *lint.Result, out io.Writer, stdout io.Writer) error {
	var err error
	switch f.format {
	case "json":
		err = lint.WriteJSON(out, res, buildVersion())
	case "sarif":
		err = lint.WriteSARIF(out, res, buildVersion())
	default:
		err = lint.WriteHuman(out, res, useColor(f.color, f.output, stdout))
	}
	if err != nil {
		return failuref("cannot write the report: %v", err)
	}
	return nil
}

// fixLint applies (or with --dry-run shows) the fixes, prints what changed
// on standard error, and returns the findings that remain: after a real
// fix, a new lint of the same paths; after a dry run, those not fixed.
func fixLint(ctx context.Context, s streams, f lintFlags, res *lint.Result, args []string, opts lint.Options, out *outfile.File) (*lint.Result, error) {
	plan, err := lint.PlanFixes(res)
	if err != nil {
		return nil, failuref("%v", err)
	}
	applied := map[string]bool{}
	nFixed, nFiles := 0, 0
	for _, ff := range plan {
		verb := "fixed"
		if f.dryRun {
			verb = "would fix"
		}
		for _, fd := range ff.Applied {
			applied[fd.Fingerprint()+fmt.Sprint(fd.Start.Offset)] = true
			fmt.Fprintf(s.errOut, "pqtls lint: %s %s:%d %s: %s\n", verb, report.TermSafe(fd.File), fd.Start.Line, fd.Rule, report.TermSafe(fd.Fix.Description))
		}
		for _, fd := range ff.Upgrades {
			fmt.Fprintf(s.errOut, "pqtls lint: not applied (an upgrade needs a human) %s:%d %s: %s\n", report.TermSafe(fd.File), fd.Start.Line, fd.Rule, report.TermSafe(fd.Fix.Description))
		}
		for _, fd := range ff.Overlapping {
			fmt.Fprintf(s.errOut, "pqtls lint: not applied (overlaps another fix; fix by hand) %s:%d %s: %s\n", report.TermSafe(fd.File), fd.Start.Line, fd.Rule, report.TermSafe(fd.Fix.Description))
		}
		if !ff.Changed() {
			continue
		}
		nFixed += len(ff.Applied)
		nFiles++
		if f.dryRun {
			if _, err := io.WriteString(out, ff.UnifiedDiff()); err != nil {
				return nil, failuref("cannot write the diff: %v", err)
			}
		} else if err := ff.Write(); err != nil {
			return nil, failuref("cannot fix %s: %v", ff.File, err)
		}
	}
	if f.dryRun {
		left := *res
		left.Findings = nil
		for _, fd := range res.Findings {
			if !applied[fd.Fingerprint()+fmt.Sprint(fd.Start.Offset)] {
				left.Findings = append(left.Findings, fd)
			}
		}
		fmt.Fprintf(s.errOut, "pqtls lint: --dry-run: would fix %d finding(s) in %d file(s); %d would remain\n", nFixed, nFiles, len(left.Findings))
		return &left, nil
	}
	after, err := runLintOnce(ctx, args, opts)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.errOut, "pqtls lint: fixed %d finding(s) in %d file(s); %d remain\n", nFixed, nFiles, len(after.Findings))
	return after, writeLintReport(f, after, out, s.out)
}

// useColor decides on ANSI colours: never into a file, only on a terminal in
// auto mode, and not when NO_COLOR is set.
func useColor(mode, output string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if (output != "" && output != "-") || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return report.IsTerminal(w)
}

// listFormatWidth bounds the FORMAT column of --list-rules; --explain ID
// prints a rule's whole format text.
const listFormatWidth = 40

// shortFormat is a rule's format text for the --list-rules table: without
// its parenthesised details, cut to listFormatWidth runes with an ellipsis.
func shortFormat(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	out := strings.Join(strings.Fields(strings.ReplaceAll(b.String(), " ,", ",")), " ")
	if rs := []rune(out); len(rs) > listFormatWidth {
		out = strings.TrimRight(string(rs[:listFormatWidth-1]), " ,") + "…"
	}
	return out
}
