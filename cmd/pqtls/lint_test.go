package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pqtls/pqtls/internal/testpki"
	"github.com/pqtls/pqtls/lint"
)

// runLintCmd runs 'pqtls lint ARGS' through run() and returns the exit code
// and both streams.
func runLintCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"lint"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeFileAll writes content to path (mode 0644), making its directory,
// and returns path.
func writeFileAll(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type lintJSON struct {
	Schema   string `json:"schema"`
	Findings []struct {
		Rule     string `json:"rule"`
		Severity string `json:"severity"`
		File     string `json:"file"`
		Line     int    `json:"line"`
		Fix      *struct {
			Replacement string `json:"replacement"`
		} `json:"fix"`
	} `json:"findings"`
	Summary struct {
		Total  int            `json:"total"`
		ByRule map[string]int `json:"by_rule"`
	} `json:"summary"`
	Suppressed struct {
		Inline   int `json:"inline"`
		Baseline int `json:"baseline"`
	} `json:"suppressed"`
}

func decodeLint(t *testing.T, s string) lintJSON {
	t.Helper()
	var r lintJSON
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
	if r.Schema != "pqtls.lint/v1" {
		t.Fatalf("schema = %q", r.Schema)
	}
	return r
}

func ruleLines(r lintJSON) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.File+":"+f.Rule)
	}
	sort.Strings(out)
	return out
}

// TestLintExample runs the documented example in examples/lint and checks
// the exact findings.
func TestLintExample(t *testing.T) {
	code, out, errOut := runLintCmd(t, "--format", "json", "../../examples/lint")
	if code != exitFailure {
		t.Fatalf("exit = %d, want 1 (findings); stderr: %s", code, errOut)
	}
	r := decodeLint(t, out)
	want := []string{
		"../../examples/lint/deploy/envoy.yaml:PQ301",
		"../../examples/lint/deploy/pg-tunnel.service:PQ501",
		"../../examples/lint/payments/Dockerfile:PQ104",
		"../../examples/lint/payments/Dockerfile:PQ201",
		"../../examples/lint/payments/go.mod:PQ105",
		"../../examples/lint/payments/main.go:PQ101",
		"../../examples/lint/payments/main.go:PQ102",
	}
	// File names are relative to the working directory only when below it;
	// here they are above, so they are absolute: compare the suffixes.
	var got []string
	for _, s := range ruleLines(r) {
		i := strings.Index(s, "examples/lint/")
		got = append(got, "../../"+s[i:])
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Suppressed.Inline != 1 {
		t.Errorf("suppressed inline = %d, want 1 (the admin config)", r.Suppressed.Inline)
	}
	for _, f := range r.Findings {
		if f.Fix == nil || f.Fix.Replacement == "" {
			t.Errorf("%s %s: no fix", f.File, f.Rule)
		}
	}
}

func TestLintExitCodes(t *testing.T) {
	dir := t.TempDir()
	warnOnly := filepath.Join(dir, "warn")
	clean := filepath.Join(dir, "clean")
	errs := filepath.Join(dir, "errs")
	writeFileAll(t, filepath.Join(warnOnly, "tunnel.yaml"), "policy: classical\n")
	writeFileAll(t, filepath.Join(clean, "tunnel.yaml"), "policy: require\n")
	writeFileAll(t, filepath.Join(errs, "app.env"), "GODEBUG=tlsmlkem=0\n")
	foreignBaseline := filepath.Join(dir, "foreign.json")
	os.WriteFile(foreignBaseline, []byte(`{"schema":"pqtls.lint.baseline/v1","findings":[{"rule":"PQ9","file":"app.env","fingerprint":"x"}]}`), 0o644)

	cases := []struct {
		name string
		args []string
		code int
		out  string // substring of stdout
		err  string // substring of stderr
	}{
		{"clean", []string{clean}, 0, "0 finding(s) in 1 file(s) checked", ""},
		{"error finding", []string{errs}, 1, "PQ104", ""},
		{"warning below default fail-on", []string{warnOnly}, 0, "PQ501", ""},
		{"fail-on warning", []string{"--fail-on", "warning", warnOnly}, 1, "PQ501", ""},
		{"fail-on info", []string{"--fail-on=info", warnOnly}, 1, "PQ501", ""},
		{"fail-on none", []string{"--fail-on", "none", errs}, 0, "PQ104", ""},
		{"disable", []string{"--disable", "PQ104", errs}, 0, "0 finding(s)", ""},
		{"exclude", []string{"--exclude", "*.env", errs}, 0, "0 finding(s) in 0 file(s)", ""},
		{"bad format", []string{"--format", "xml", errs}, 2, "", "use human, json or sarif"},
		{"bad fail-on", []string{"--fail-on", "fatal", errs}, 2, "", "use info, warning or error"},
		{"bad color", []string{"--color", "rainbow", errs}, 2, "", "auto, always or never"},
		{"missing path", []string{filepath.Join(dir, "nope")}, 2, "", "give an existing file or directory"},
		{"unknown flag", []string{"--frobnicate"}, 2, "", "unknown flag"},
		{"unknown disable", []string{"--disable", "PQ999", errs}, 2, "", "unknown rule"},
		{"explain", []string{"--explain", "PQ101"}, 0, "CurvePreferences", ""},
		{"explain by name", []string{"--explain", "nginx-ecdh-curve-classical"}, 0, "ssl_ecdh_curve", ""},
		{"explain unknown", []string{"--explain", "PQ999"}, 2, "", "--list-rules"},
		{"list rules", []string{"--list-rules"}, 0, "PQ501", ""},
		{"missing baseline", []string{"--baseline", filepath.Join(dir, "none.json"), errs}, 2, "", "--write-baseline"},
		{"baseline with unknown rule", []string{"--baseline", foreignBaseline, errs}, 2, "", `unknown rule "PQ9"`},
		{"exclude [", []string{"--exclude", "[", errs}, 2, "", `invalid --exclude pattern "[": unclosed`},
		{"exclude a[", []string{"--exclude", "a[", errs}, 2, "", `invalid --exclude pattern "a["`},
		{"exclude [!", []string{"--exclude", "[!", errs}, 2, "", `invalid --exclude pattern "[!"`},
		{"exclude escaped bracket", []string{"--exclude", `\[x`, errs}, 1, "PQ104", ""},
		{"both baselines", []string{"--baseline", "a", "--write-baseline", "b", errs}, 2, "", "cannot be combined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runLintCmd(t, c.args...)
			if code != c.code {
				t.Errorf("exit = %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errOut)
			}
			if !strings.Contains(out, c.out) {
				t.Errorf("stdout lacks %q:\n%s", c.out, out)
			}
			if !strings.Contains(errOut, c.err) {
				t.Errorf("stderr lacks %q:\n%s", c.err, errOut)
			}
			if strings.Contains(out, "\x1b[") {
				t.Error("colour written to a non-terminal")
			}
		})
	}
}

func TestLintBaselineAndOutputFile(t *testing.T) {
	dir := t.TempDir()
	conf := writeFileAll(t, filepath.Join(dir, "nginx", "site.conf"), "server {\n  ssl_ecdh_curve prime256v1;\n  ssl_protocols TLSv1.2;\n}\n")
	base := filepath.Join(dir, "baseline.json")

	code, out, errOut := runLintCmd(t, "--write-baseline", base, dir)
	if code != 0 || !strings.Contains(errOut, "recorded 2 finding(s)") || out != "" {
		t.Fatalf("write-baseline: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Shift the lines: the baseline still matches.
	os.WriteFile(conf, []byte("# moved\n\nserver {\n  ssl_ecdh_curve prime256v1;\n  ssl_protocols TLSv1.2;\n}\n"), 0o644)
	code, out, _ = runLintCmd(t, "--baseline", base, "--format", "json", dir)
	r := decodeLint(t, out)
	if code != 0 || r.Summary.Total != 0 || r.Suppressed.Baseline != 2 {
		t.Errorf("with baseline: exit %d, total %d, suppressed %d", code, r.Summary.Total, r.Suppressed.Baseline)
	}
	// A new problem is reported, written to --output, and fails the run.
	os.WriteFile(filepath.Join(dir, "app.env"), []byte("GODEBUG=tlssecpmlkem=0\n"), 0o644)
	report := filepath.Join(dir, "report.sarif")
	code, out, _ = runLintCmd(t, "--baseline", base, "--format", "sarif", "--output", report, dir)
	if code != 1 || out != "" {
		t.Errorf("exit %d (want 1), stdout %q (want empty)", code, out)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &sarif); err != nil {
		t.Fatal(err)
	}
	if sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) != 1 || sarif.Runs[0].Results[0].RuleID != "PQ104" {
		t.Errorf("SARIF = %s", data)
	}
	// An unwritable --output is an I/O error found before any work (exit 2).
	code, _, errOut = runLintCmd(t, "--output", filepath.Join(dir, "no", "such", "dir", "r.json"), dir)
	if code != 2 || !strings.Contains(errOut, "cannot write") {
		t.Errorf("unwritable output: exit %d, stderr %q", code, errOut)
	}
}

func TestLintHumanGroupedByFile(t *testing.T) {
	code, out, _ := runLintCmd(t, "--color", "never", "--fail-on", "none", "../../examples/lint")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{
		"examples/lint/payments/main.go\n  14:21  error    PQ102",
		"+ CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256},",
		"Findings by rule:\n  PQ101",
		"7 finding(s) in 5 file(s) checked; 1 suppressed inline, 0 by baseline.",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("human output lacks %q:\n%s", s, out)
		}
	}
	_, colored, _ := runLintCmd(t, "--color", "always", "--fail-on", "none", "../../examples/lint")
	if !strings.Contains(colored, "\x1b[31m") {
		t.Error("--color always wrote no colour")
	}
}

// A baseline names files relative to itself, so it matches whichever
// directory lint runs from: written at the repository root, used from a
// subdirectory or from the parent directory.
func TestLintBaselineFromAnotherDirectory(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	writeFileAll(t, filepath.Join(repo, "nginx", "site.conf"), "server {\n  ssl_ecdh_curve prime256v1;\n}\n")
	t.Chdir(repo)
	if code, _, errOut := runLintCmd(t, "--write-baseline", ".pqtls-lint-baseline.json", "."); code != 0 {
		t.Fatalf("write-baseline: exit %d: %s", code, errOut)
	}
	for _, tc := range []struct{ cwd, baseline, path string }{
		{repo, ".pqtls-lint-baseline.json", "."},
		{filepath.Join(repo, "nginx"), "../.pqtls-lint-baseline.json", "."},
		{dir, "repo/.pqtls-lint-baseline.json", "repo"},
	} {
		t.Chdir(tc.cwd)
		code, out, errOut := runLintCmd(t, "--baseline", tc.baseline, "--format", "json", tc.path)
		if r := decodeLint(t, out); code != 0 || r.Summary.Total != 0 || r.Suppressed.Baseline != 1 {
			t.Errorf("from %s: exit %d, %d findings, %d hidden by the baseline: %s", tc.cwd, code, r.Summary.Total, r.Suppressed.Baseline, errOut)
		}
	}
}

// The documented unit runs a real pqtls tunnel command line, before and
// after the PQ501 fix: both pass 'pqtls tunnel ... --check-config' (with
// test certificates in place of /etc/pqtls) and the fix makes it prefer.
func TestLintExampleUnitIsARealCommand(t *testing.T) {
	unit := "../../examples/lint/deploy/pg-tunnel.service"
	src, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	res, err := lint.Lint(context.Background(), []string{unit}, lint.Options{})
	if err != nil || len(res.Findings) != 1 || res.Findings[0].Rule != "PQ501" {
		t.Fatalf("lint %s: %v, %+v", unit, err, res)
	}
	fixed := lint.ApplyFixes(src, res.Findings)
	files := testpki.NewCA(t).Server(t, testpki.CertOptions{}).WriteFiles(t, t.TempDir())
	for _, data := range [][]byte{src, fixed} {
		var args []string
		for _, l := range strings.Split(string(data), "\n") {
			if cmdline, ok := strings.CutPrefix(l, "ExecStart="); ok {
				args = strings.Fields(cmdline)[1:] // drop /usr/local/bin/pqtls
			}
		}
		for i := range args {
			switch {
			case i > 0 && args[i-1] == "--cert":
				args[i] = files.Cert
			case i > 0 && args[i-1] == "--key":
				args[i] = files.Key
			}
		}
		var out, errOut bytes.Buffer
		if code := run(append(args, "--check-config"), strings.NewReader(""), &out, &errOut); code != 0 {
			t.Errorf("%v: exit %d: %s%s", args, code, out.String(), errOut.String())
		}
	}
	if !bytes.Contains(fixed, []byte("tunnel server --policy prefer --listen :5433 --target 127.0.0.1:5432")) {
		t.Errorf("fixed unit:\n%s", fixed)
	}
}

// Issue 11 item 1: -o and the baseline go through internal/outfile: a
// directory or a missing directory is exit 2 before any work (--fix changes
// nothing), a symlink to a device is written through and stays a symlink,
// a symlink to a regular file keeps the link and the target's mode.
func TestLintOutputFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	env := writeFileAll(t, filepath.Join(src, "app.env"), "GODEBUG=tlsmlkem=0\n")
	for _, o := range []string{dir, filepath.Join(dir, "missing", "r.txt")} {
		for _, extra := range [][]string{{"-o", o}, {"--write-baseline", o}, {"--fix", "-o", o}} {
			code, out, errOut := runLintCmd(t, append(extra, src)...)
			if code != 2 || out != "" || !strings.Contains(errOut, "cannot write") {
				t.Errorf("%v: exit %d, stdout %q, stderr %q", extra, code, out, errOut)
			}
		}
	}
	if data, _ := os.ReadFile(env); string(data) != "GODEBUG=tlsmlkem=0\n" {
		t.Errorf("--fix ran although its output was refused: %q", data)
	}
	// A symlink to /dev/null: written through, the link and the device stay.
	devLink := filepath.Join(dir, "null")
	if err := os.Symlink("/dev/null", devLink); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runLintCmd(t, "-o", devLink, src); code != 1 {
		t.Fatalf("-o link to /dev/null: exit %d: %s", code, errOut)
	}
	if st, err := os.Lstat(devLink); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", st.Mode(), err)
	}
	if st, err := os.Stat("/dev/null"); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v %v", st.Mode(), err)
	}
	// A symlink to a regular file: the target is replaced, mode kept.
	target := filepath.Join(dir, "report.json")
	os.WriteFile(target, []byte("old"), 0o600)
	link := filepath.Join(dir, "report-link.json")
	os.Symlink(target, link)
	if code, _, errOut := runLintCmd(t, "--format", "json", "-o", link, src); code != 1 {
		t.Fatalf("-o link: exit %d: %s", code, errOut)
	}
	st, _ := os.Lstat(link)
	tst, _ := os.Stat(target)
	data, _ := os.ReadFile(target)
	if st.Mode()&os.ModeSymlink == 0 || tst.Mode().Perm() != 0o600 || !strings.Contains(string(data), "PQ104") {
		t.Errorf("link mode %v, target mode %v, target %q", st.Mode(), tst.Mode().Perm(), data)
	}
	// "-" is standard output.
	if code, out, _ := runLintCmd(t, "-o", "-", src); code != 1 || !strings.Contains(out, "PQ104") {
		t.Errorf("-o -: exit %d, stdout %q", code, out)
	}
}

// Issue 11 item 6: file names and file text are escaped in the human
// report: an ESC or a newline in a file name cannot drive the terminal or
// forge a line.
func TestLintHumanEscapesFileNames(t *testing.T) {
	dir := t.TempDir()
	name := "evil\x1b[2J\nPQ999 forged.env"
	if err := os.WriteFile(filepath.Join(dir, name), []byte("GODEBUG=tlsmlkem=0 \x07\n"), 0o644); err != nil {
		t.Skipf("file system refuses the name: %v", err)
	}
	code, out, _ := runLintCmd(t, "--color", "never", dir)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if strings.ContainsAny(out, "\x1b\x07") || strings.Contains(out, "\nPQ999") {
		t.Errorf("control characters printed raw:\n%q", out)
	}
	if !strings.Contains(out, `evil\x1b[2J\nPQ999 forged.env`) {
		t.Errorf("escaped name missing:\n%s", out)
	}
}

// --fix applies setting fixes in place (mode kept), never upgrades or
// baselined findings; --dry-run prints a unified diff and changes nothing;
// the exit status follows what remains.
func TestLintFix(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx", "site.conf")
	os.MkdirAll(filepath.Dir(conf), 0o755)
	orig := "server {\n  ssl_ecdh_curve prime256v1;\n  ssl_protocols TLSv1.2;\n}\n"
	os.WriteFile(conf, []byte(orig), 0o640)
	docker := filepath.Join(dir, "Dockerfile")
	os.WriteFile(docker, []byte("FROM golang:1.22\nENV GODEBUG=tlsmlkem=0\n"), 0o644)
	accepted := filepath.Join(dir, "accepted.env")
	os.WriteFile(accepted, []byte("GODEBUG=tlssecpmlkem=0\n"), 0o644)
	base := filepath.Join(dir, "baseline.json")
	if code, _, errOut := runLintCmd(t, "--write-baseline", base, accepted); code != 0 {
		t.Fatalf("baseline: %d %s", code, errOut)
	}
	t.Chdir(dir) // names relative to dir, as in a repository
	dir = "."

	code, out, errOut := runLintCmd(t, "--fix", "--dry-run", "--baseline", base, dir)
	if code != 1 { // PQ201 (an upgrade) remains
		t.Errorf("dry run: exit %d", code)
	}
	for _, s := range []string{"--- a/nginx/site.conf\n+++ b/nginx/site.conf\n@@ -1,4 +1,4 @@\n server {\n-  ssl_ecdh_curve prime256v1;\n-  ssl_protocols TLSv1.2;\n+  ssl_ecdh_curve X25519MLKEM768:prime256v1;\n+  ssl_protocols TLSv1.2 TLSv1.3;\n }\n", "-ENV GODEBUG=tlsmlkem=0\n+ENV GODEBUG=tlsmlkem=1\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("diff lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "golang:1.26") || strings.Contains(out, "accepted.env") {
		t.Errorf("diff applies an upgrade or a baselined finding:\n%s", out)
	}
	if !strings.Contains(errOut, "not applied (an upgrade needs a human)") || !strings.Contains(errOut, "would fix 3 finding(s) in 2 file(s); 1 would remain") {
		t.Errorf("dry-run stderr:\n%s", errOut)
	}
	if data, _ := os.ReadFile(conf); string(data) != orig {
		t.Fatalf("--dry-run changed the file:\n%s", data)
	}

	code, out, errOut = runLintCmd(t, "--fix", "--baseline", base, "--format", "json", dir)
	r := decodeLint(t, out)
	if code != 1 || len(r.Findings) != 1 || r.Findings[0].Rule != "PQ201" || r.Suppressed.Baseline != 1 {
		t.Errorf("after --fix: exit %d, findings %v, baseline %d\n%s", code, ruleLines(r), r.Suppressed.Baseline, errOut)
	}
	if !strings.Contains(errOut, "fixed nginx/site.conf:2 PQ311") || !strings.Contains(errOut, "fixed 3 finding(s) in 2 file(s); 1 remain") {
		t.Errorf("--fix stderr:\n%s", errOut)
	}
	st, _ := os.Stat(conf)
	data, _ := os.ReadFile(conf)
	if st.Mode().Perm() != 0o640 || !strings.Contains(string(data), "X25519MLKEM768:prime256v1") {
		t.Errorf("fixed file: mode %v\n%s", st.Mode().Perm(), data)
	}
	if data, _ := os.ReadFile(accepted); string(data) != "GODEBUG=tlssecpmlkem=0\n" {
		t.Errorf("a baselined finding was fixed: %q", data)
	}
	// Nothing left to fix but the upgrade: --fail-on none exits 0.
	if code, _, _ := runLintCmd(t, "--fix", "--fail-on", "none", "--baseline", base, dir); code != 0 {
		t.Errorf("second --fix: exit %d", code)
	}
	if code, _, errOut := runLintCmd(t, "--dry-run", dir); code != 2 || !strings.Contains(errOut, "--dry-run needs --fix") {
		t.Errorf("--dry-run alone: exit %d %s", code, errOut)
	}
}

// copyTree copies a directory (files only) for tests that change it.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLintInfraExample lints examples/infra, fixes a copy with --fix and
// lints it again: only the unfixable findings its README documents remain.
func TestLintInfraExample(t *testing.T) {
	readme, err := os.ReadFile("../../examples/infra/README.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "infra")
	copyTree(t, "../../examples/infra", dir)
	t.Chdir(dir)
	code, out, errOut := runLintCmd(t, "--format", "json", ".")
	before := decodeLint(t, out)
	want := []string{
		"cloudformation/edge.yaml:PQ601", "cloudformation/edge.yaml:PQ602", "cloudformation/grpc.json:PQ602", "etcd/etcd.service:PQ454",
		"haproxy/haproxy.cfg:PQ463",
		"java/payments/Dockerfile:PQ431", "java/payments/pom.xml:PQ431", "java/payments/pom.xml:PQ432",
		"kafka/server.properties:PQ711", "kafka/server.properties:PQ711", "mysql/my.cnf:PQ451",
		"postgres/17/main/postgresql.conf:PQ701", "postgres/18/main/postgresql.conf:PQ701",
		"pulumi/edge/Pulumi.yaml:PQ601", "pulumi/edge/Pulumi.yaml:PQ602", "python/reports/upload.py:PQ441",
		"rabbitmq/rabbitmq.conf:PQ453", "redis/redis.conf:PQ452",
		"rust/billing/Cargo.lock:PQ801", "rust/billing/Cargo.toml:PQ801", "rust/gateway/Cargo.toml:PQ803",
		"signer/go.mod:PQ464",
		"terraform/api/main.tf:PQ605", "terraform/api/main.tf:PQ605",
		"terraform/edge/main.tf:PQ603", "terraform/edge/main.tf:PQ604",
		"terraform/envs/prod/main.tf:PQ602", "terraform/modules/alb/main.tf:PQ601", "terraform/modules/nlb/main.tf:PQ602",
		"vault/vault.hcl:PQ455",
	}
	if code != 1 || strings.Join(ruleLines(before), " ") != strings.Join(want, " ") {
		t.Fatalf("before: exit %d\n%s\nwant\n%s\n%s", code, strings.Join(ruleLines(before), "\n"), strings.Join(want, "\n"), errOut)
	}
	code, out, errOut = runLintCmd(t, "--fix", "--format", "json", ".")
	after := decodeLint(t, out)
	left := []string{"java/payments/Dockerfile:PQ431", "java/payments/pom.xml:PQ431", "java/payments/pom.xml:PQ432",
		"postgres/17/main/postgresql.conf:PQ701", "python/reports/upload.py:PQ441", "rust/billing/Cargo.lock:PQ801", "rust/billing/Cargo.toml:PQ801",
		"terraform/api/main.tf:PQ605"}
	if code != 1 || strings.Join(ruleLines(after), " ") != strings.Join(left, " ") {
		t.Fatalf("after --fix: exit %d\n%s\nstderr:\n%s", code, strings.Join(ruleLines(after), "\n"), errOut)
	}
	for _, l := range left {
		file, rule, _ := strings.Cut(l, ":")
		if !bytes.Contains(readme, []byte("`"+file+"` "+rule)) {
			t.Errorf("README does not document the unfixable %s %s", file, rule)
		}
	}
	if !strings.Contains(errOut, "fixed 22 finding(s) in 18 file(s); 8 remain") || !strings.Contains(errOut, "not applied (an upgrade needs a human) rust/billing/Cargo.toml:7 PQ801") {
		t.Errorf("--fix stderr:\n%s", errOut)
	}
	// A second lint of the fixed copy reports the same, and the fixed
	// files still parse (no PQ000), SARIF included.
	code, out, _ = runLintCmd(t, "--format", "sarif", "--fail-on", "none", ".")
	if code != 0 || strings.Contains(out, `"ruleId": "PQ000"`) || strings.Count(out, `"ruleId"`) != len(left) {
		t.Errorf("re-lint: exit %d\n%s", code, out)
	}
	tf, _ := os.ReadFile("terraform/modules/alb/main.tf")
	if !strings.Contains(string(tf), "  protocol          = \"HTTPS\"\n  ssl_policy = \"ELBSecurityPolicy-TLS13-1-2-PQ-2025-09\"\n") {
		t.Errorf("terraform fix:\n%s", tf)
	}
	edge, _ := os.ReadFile("terraform/edge/main.tf")
	if !strings.Contains(string(edge), "setting_id = \"tls_1_3\"\n  value      = \"on\"\n") || !strings.Contains(string(edge), "post_quantum_key_exchange = \"ENABLED\"\n") {
		t.Errorf("edge fix:\n%s", edge)
	}
	mod, _ := os.ReadFile("signer/go.mod")
	if !strings.Contains(string(mod), "\ngo 1.27\n") {
		t.Errorf("signer go.mod fix:\n%s", mod)
	}
	for file, want := range map[string]string{
		"mysql/my.cnf":           "\ntls_version = TLSv1.2,TLSv1.3\n",
		"redis/redis.conf":       "\ntls-protocols \"TLSv1.2 TLSv1.3\"\n",
		"rabbitmq/rabbitmq.conf": "\nssl_options.versions.1 = tlsv1.2\nssl_options.versions.2 = tlsv1.3\n",
		"vault/vault.hcl":        "\n  tls_max_version   = \"tls13\"\n",
		"etcd/etcd.service":      "--tls-min-version TLS1.2 --tls-max-version TLS1.3\n",
	} {
		if data, _ := os.ReadFile(file); !strings.Contains(string(data), want) {
			t.Errorf("%s after --fix:\n%s", file, data)
		}
	}
	pg, _ := os.ReadFile("postgres/18/main/postgresql.conf")
	if !strings.Contains(string(pg), "\nssl_groups = 'X25519MLKEM768:X25519:prime256v1'\n") {
		t.Errorf("postgres 18 fix:\n%s", pg)
	}
}

// TestListRulesFormatColumnBounded: the FORMAT column of --list-rules stays
// readable on a terminal (PQ601's format text is over 200 characters); the
// whole text stays in --explain.
func TestListRulesFormatColumnBounded(t *testing.T) {
	for _, r := range lint.Rules() {
		short := shortFormat(r.Format)
		if n := utf8.RuneCountInString(short); n > listFormatWidth || n == 0 {
			t.Errorf("%s: short format %q has %d runes, want 1..%d", r.ID, short, n, listFormatWidth)
		}
		if strings.ContainsAny(short, "()") {
			t.Errorf("%s: short format %q keeps parentheses", r.ID, short)
		}
	}
	if got, want := shortFormat("Terraform (aws_lb_listener, aws_alb_listener), CloudFormation YAML/JSON (AWS::ElasticLoadBalancingV2::Listener)"), "Terraform, CloudFormation YAML/JSON"; got != want {
		t.Errorf("shortFormat = %q, want %q", got, want)
	}
	if got := shortFormat("go.mod"); got != "go.mod" {
		t.Errorf("shortFormat(go.mod) = %q", got)
	}
	r, ok := lint.LookupRule("PQ601")
	if !ok || !strings.Contains(lint.Explain(r), r.Format) {
		t.Errorf("--explain PQ601 must keep the whole format text %q", r.Format)
	}
}
