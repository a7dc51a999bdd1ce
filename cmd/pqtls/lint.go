package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/pqtls/pqtls/lint"
	"github.com/spf13/cobra"
	"golang.org/x/term"
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
}

func newLintCmd(s streams) *cobra.Command {
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Find configs and code that keep TLS classical (curve lists, TLS 1.2 caps, GODEBUG, old toolchains)",
		Long: `pqtls lint reads repositories and reports every setting that keeps a service on
classical key exchange: Go tls.Config curve lists and version caps, GODEBUG switches,
go.mod versions, Dockerfile images, Envoy, nginx, HAProxy, stunnel, Caddy, Traefik,
Istio, Node.js, Java and OpenSSL settings, and pqtls's own policy. Each finding names
the rule, file:line:column and the replacement text.

It walks PATHs (default: the current directory), honours .gitignore, and skips .git,
vendor, node_modules, third_party, testdata (see --include-testdata) and generated Go
files. Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 on usage
errors. Rule reference: docs/LINT.md, or --explain RULE.`,
		Example: `  pqtls lint .
  pqtls lint --format sarif --output pqtls-lint.sarif deploy/ services/
  pqtls lint --fail-on warning --exclude '**/*_test.go'
  pqtls lint --write-baseline .pqtls-lint-baseline.json   # adopt on a large repo
  pqtls lint --baseline .pqtls-lint-baseline.json         # then report only new findings
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
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file (atomically) instead of standard output")
	fl.StringVar(&f.color, "color", "auto", "colour the human format: auto (only on a terminal, unless NO_COLOR is set), always or never")
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Severity, r.Format, r.Summary)
		}
		return tw.Flush()
	}
	switch f.format {
	case "human", "json", "sarif":
	default:
		return usageErrorf("unknown --format %q: use human, json or sarif", f.format)
	}
	var failOn lint.Severity
	if f.failOn != "none" {
		sev, err := lint.ParseSeverity(f.failOn)
		if err != nil {
			return usageErrorf("bad --fail-on: %v (or none)", err)
		}
		failOn = sev
	}
	switch f.color {
	case "auto", "always", "never":
	default:
		return usageErrorf("unknown --color %q: use auto, always or never", f.color)
	}
	if f.baseline != "" && f.writeBaseline != "" {
		return usageErrorf("--baseline and --write-baseline cannot be combined: --write-baseline records every current finding on its own")
	}
	opts := lint.Options{Excludes: f.excludes, Disable: f.disable, IncludeTestdata: f.includeTestdata, NoGitignore: f.noGitignore}
	if f.baseline != "" {
		b, err := lint.ReadBaseline(f.baseline)
		if err != nil {
			return usageErrorf("%v", err)
		}
		opts.Baseline = b
	}
	if f, ok := s.errOut.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		opts.Progress = func(n int) {
			if n%250 == 0 {
				fmt.Fprintf(s.errOut, "\rpqtls lint: %d files checked", n)
			}
		}
		defer fmt.Fprint(s.errOut, "\r\x1b[K")
	}
	res, err := lint.Lint(ctx, args, opts)
	if err != nil {
		var pe *lint.PathError
		var pat *lint.PatternError
		var re *lint.RuleError
		if errors.As(err, &pe) || errors.As(err, &pat) || errors.As(err, &re) {
			return usageErrorf("%v", err)
		}
		return failuref("lint failed: %v", err)
	}
	if f.writeBaseline != "" {
		b, err := lint.NewBaselineFile(res, f.writeBaseline)
		if err != nil {
			return failuref("%v", err)
		}
		if err := b.WriteFile(f.writeBaseline); err != nil {
			return failuref("%v", err)
		}
		fmt.Fprintf(s.errOut, "pqtls lint: recorded %d finding(s) in %s; run with --baseline %s to report only new ones\n", len(res.Findings), f.writeBaseline, f.writeBaseline)
		return nil
	}

	var buf bytes.Buffer
	out := io.Writer(&buf)
	switch f.format {
	case "json":
		err = lint.WriteJSON(out, res, buildVersion())
	case "sarif":
		err = lint.WriteSARIF(out, res, buildVersion())
	default:
		err = lint.WriteHuman(out, res, useColor(f.color, f.output, s.out))
	}
	if err != nil {
		return failuref("cannot format the report: %v", err)
	}
	if f.output != "" {
		if err := lint.WriteFileAtomic(f.output, buf.Bytes()); err != nil {
			return failuref("%v", err)
		}
	} else if _, err := s.out.Write(buf.Bytes()); err != nil {
		return failuref("cannot write the report: %v", err)
	}
	if failOn != 0 && res.Max() >= failOn {
		return silentExit(exitFailure)
	}
	return nil
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
	if output != "" || os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
