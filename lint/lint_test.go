package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/version"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/testschema"
)

const rulesDir = "testdata/rules"

type want struct {
	rule string
	line int
}

func (w want) String() string { return fmt.Sprintf("%s@%d", w.rule, w.line) }

// lintPath lints one fixture path with BaseDir = testdata/rules, so names
// are reported relative to it.
func lintPath(t *testing.T, rel string, opts Options) *Result {
	t.Helper()
	abs, err := filepath.Abs(rulesDir)
	if err != nil {
		t.Fatal(err)
	}
	opts.BaseDir = abs
	res, err := Lint(context.Background(), []string{filepath.Join(abs, rel)}, opts)
	if err != nil {
		t.Fatalf("Lint(%s): %v", rel, err)
	}
	return res
}

func got(res *Result) []want {
	var out []want
	for _, f := range res.Findings {
		out = append(out, want{f.Rule, f.Start.Line})
	}
	return out
}

func sameWants(a, b []want) bool {
	s := func(w []want) string {
		var x []string
		for _, v := range w {
			x = append(x, v.String())
		}
		sort.Strings(x)
		return strings.Join(x, " ")
	}
	return s(a) == s(b)
}

// ruleCases: true positives for every rule, with the exact lines.
var ruleCases = []struct {
	file  string
	wants []want
}{
	{"go/bad/server.go", []want{{"PQ103", 1}, {"PQ101", 15}, {"PQ102", 20}, {"PQ101", 21}, {"PQ102", 27}, {"PQ104", 33}, {"PQ104", 33}, {"PQ101", 35}, {"PQ104", 42}}},
	{"go/bad/server_test.go", []want{{"PQ101", 10}}},
	{"go/bad/indirect.go", []want{{"PQ102", 14}, {"PQ104", 19}}},
	{"go/bad/legacy/main.go", []want{{"PQ103", 1}}},
	{"go/pqtlsuse/main.go", []want{{"PQ501", 13}, {"PQ501", 14}, {"PQ502", 20}}},
	{"gomod/oldgo/go.mod", []want{{"PQ105", 3}, {"PQ105", 5}}},
	{"gomod/lib/go.mod", []want{{"PQ105", 3}}},
	{"gomod/godebug/go.mod", []want{{"PQ106", 5}, {"PQ106", 9}}},
	{"gomod/default/go.mod", []want{{"PQ106", 5}}},
	{"gomod/mid/go.mod", []want{{"PQ107", 3}}},
	{"docker/bad/Dockerfile", []want{{"PQ201", 3}, {"PQ201", 8}, {"PQ202", 11}, {"PQ104", 16}, {"PQ501", 18}}},
	// api runs only the Go binary (no PQ202); edge also installs nginx; tools
	// copies from a non-golang stage.
	{"docker/bad/Dockerfile.stages", []want{{"PQ202", 7}, {"PQ202", 12}}},
	{"docker/bad/Dockerfile.sidecars", []want{{"PQ202", 1}, {"PQ202", 2}, {"PQ202", 3}, {"PQ202", 4}, {"PQ411", 5}}},
	{"envoy/front-proxy.yaml", []want{{"PQ302", 14}, {"PQ301", 15}, {"PQ301", 25}}},
	{"k8s/payments.yaml", []want{{"PQ501", 18}, {"PQ104", 21}, {"PQ411", 23}, {"PQ402", 25}}},
	{"istio/operator.yaml", []want{{"PQ361", 8}, {"PQ362", 17}}},
	{"istio/values.yaml", []want{{"PQ362", 3}, {"PQ361", 6}}},
	{"traefik/dynamic.yml", []want{{"PQ352", 5}, {"PQ351", 7}}},
	{"traefik/traefik.toml", []want{{"PQ352", 6}, {"PQ351", 7}}},
	{"yaml/broken.yaml", []want{{"PQ000", 4}}},
	{"yaml/deployment-template.yaml", []want{{"PQ104", 12}}},
	{"k8s/ingress-nginx-controller.yaml", []want{{"PQ312", 9}, {"PQ311", 10}}},
	{"yaml/envoy-template.yaml", []want{{"PQ302", 26}, {"PQ361", 42}}},
	{"pqtls/tunnel.yaml", []want{{"PQ501", 4}, {"PQ502", 5}}},
	{"nginx/nginx.conf", []want{{"PQ312", 10}, {"PQ311", 11}, {"PQ312", 15}, {"PQ311", 16}}},
	{"haproxy/haproxy.cfg", []want{{"PQ321", 3}, {"PQ322", 4}, {"PQ321", 12}}},
	{"stunnel/stunnel.conf", []want{{"PQ331", 9}, {"PQ332", 10}}},
	{"caddy/Caddyfile", []want{{"PQ341", 3}}},
	{"node/server.js", []want{{"PQ401", 6}, {"PQ401", 11}, {"PQ402", 12}, {"PQ402", 15}}},
	{"java/java.security", []want{{"PQ411", 3}}},
	{"java/PaymentsClient.java", []want{{"PQ411", 6}}},
	{"java/run.sh", []want{{"PQ411", 3}}},
	{"openssl/openssl.cnf", []want{{"PQ422", 11}, {"PQ421", 12}}},
	{"systemd/payments.service", []want{{"PQ104", 6}, {"PQ104", 7}, {"PQ501", 10}, {"PQ502", 12}}},
	{"shell/.env", []want{{"PQ104", 3}}},
	// Suppressions: what is left after pqtls-lint:ignore comments.
	{"suppress/nginx.conf", []want{{"PQ000", 6}, {"PQ311", 7}}}, // PQ000: ignore names an unknown rule
	{"suppress/main.go", []want{{"PQ104", 12}}},
	{"suppress/envoy.yaml", []want{{"PQ301", 24}}},
	{"suppress/config.go", []want{{"PQ101", 14}}},
	{"terraform/alb.tf", []want{{"PQ601", 2}, {"PQ602", 18}, {"PQ602", 26}, {"PQ602", 31}}},
	{"terraform/broken.tf", []want{{"PQ000", 1}}},
	{"terraform/modules.tf", []want{{"PQ602", 4}, {"PQ602", 13}, {"PQ602", 25}}},
	{"cloudformation/stack.yaml", []want{{"PQ601", 6}, {"PQ602", 18}, {"PQ601", 19}}},
	{"cloudformation/stack.json", []want{{"PQ601", 4}, {"PQ602", 13}}},
	{"pulumi/Pulumi.yaml", []want{{"PQ601", 4}, {"PQ602", 15}}},
	{"postgres/17/postgresql.conf", []want{{"PQ701", 4}}}, // 17: reported, never fixed
	{"postgres/18/postgresql.conf", []want{{"PQ701", 3}}}, // 18 (path): fixed to ssl_groups
	{"postgres/plain/postgresql.conf", []want{{"PQ702", 2}}},
	{"kafka/server.properties", []want{{"PQ711", 2}, {"PQ711", 3}}},
	{"rust/app/Cargo.toml", []want{{"PQ801", 7}, {"PQ802", 7}, {"PQ804", 8}}},
	{"rust/app/Cargo.lock", []want{{"PQ804", 4}, {"PQ801", 13}}},
	{"rust/pq/Cargo.toml", []want{{"PQ803", 5}}},
	// Managed TLS terminators other than AWS load balancers.
	{"cloud/gcp.tf", []want{{"PQ603", 5}}},
	{"cloud/gcp-policies.sh", []want{{"PQ603", 2}}},
	{"cloud/ssl-policy.ts", []want{{"PQ603", 5}}},
	{"cloud/cloudflare.tf", []want{{"PQ604", 4}, {"PQ604", 17}}},
	{"cloud/apigateway.tf", []want{{"PQ605", 4}, {"PQ605", 10}, {"PQ605", 15}}},
	{"pulumi/ts/index.ts", []want{{"PQ602", 7}, {"PQ602", 18}}},
	{"pulumi/go/main.go", []want{{"PQ602", 7}}},
	{"cloud/apigateway.yaml", []want{{"PQ605", 8}, {"PQ605", 13}}},
	{"cloud/apigateway.json", []want{{"PQ605", 5}}},
	{"cloud/akamai.tf", []want{{"PQ606", 7}, {"PQ606", 25}}},
	{"cloud/ingress-nginx.tf", []want{{"PQ312", 8}, {"PQ311", 9}, {"PQ312", 20}, {"PQ311", 29}}},
	// Post-quantum authentication (ML-DSA).
	{"mldsa/openssl/openssl.cnf", []want{{"PQ461", 11}, {"PQ461", 12}}},
	{"mldsa/nginx/nginx.conf", []want{{"PQ462", 9}, {"PQ462", 10}, {"PQ462", 14}}},
	{"mldsa/haproxy/haproxy.cfg", []want{{"PQ463", 2}, {"PQ463", 3}, {"PQ463", 7}}},
	{"gomod/mldsa/go.mod", []want{{"PQ464", 3}}},
	{"gomod/mldsa-x509/go.mod", []want{{"PQ107", 3}, {"PQ464", 3}}},
}

// nearMisses must produce no finding: hybrid lists, commented-out lines,
// defaults, unresolvable values, suppressed lines, generated code.
var nearMisses = []string{
	"go/good/server.go",
	"go/generated/zz_generated.go",
	"gomod/good/go.mod",
	"docker/good/Dockerfile",
	"envoy/edge-good.yaml",
	"k8s/ledger-good.yaml",
	"istio/good-values.yaml",
	"traefik/good.toml",
	"pqtls/tunnel-good.yaml",
	"pqtls/other-groups.yaml",
	"nginx/good.conf",
	"caddy/Caddyfile", // the second site block is clean; only line 3 is flagged (checked above)
	"node/client.ts",
	"java/application.properties",
	"openssl/openssl-good.cnf",
	"terraform/good.tf",
	"cloudformation/package.json",
	"postgres/plain/postgresql.auto.conf",
	"kafka/client.properties",
	"rust/good/Cargo.toml",
	"rust/good/Cargo.lock",
	"cloud/cloudflare-good.tf",
	"mldsa/openssl/openssl-good.cnf",
	"mldsa/nginx/good.conf",
	"gomod/mldsa-tagged/go.mod", // ML-DSA behind //go:build go1.27; a test file is not read
	"gomod/mldsa127/go.mod",
}

// A fix keeps the separator of the list it edits.
func TestFixKeepsSeparator(t *testing.T) {
	res := lintPath(t, "pqtls/tunnel.yaml", Options{})
	for _, f := range res.Findings {
		if f.Rule == "PQ502" && (f.Fix == nil || f.Fix.NewText != "X25519MLKEM768,") {
			t.Errorf("fix %+v, want X25519MLKEM768, inserted", f.Fix)
		}
	}
}

func TestRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.file, func(t *testing.T) {
			res := lintPath(t, tc.file, Options{})
			if g := got(res); !sameWants(g, tc.wants) {
				t.Errorf("findings = %v, want %v", g, tc.wants)
				for _, f := range res.Findings {
					t.Logf("  %s:%d:%d %s %s", f.File, f.Start.Line, f.Start.Column, f.Rule, f.Message)
				}
			}
			for _, f := range res.Findings {
				if f.File != tc.file {
					t.Errorf("file reported as %q, want %q", f.File, tc.file)
				}
				if f.Message == "" || f.Snippet == "" && f.Rule != "PQ000" {
					t.Errorf("%s: empty message or snippet: %+v", f.Rule, f)
				}
			}
		})
	}
}

func TestNearMisses(t *testing.T) {
	for _, file := range nearMisses {
		t.Run(file, func(t *testing.T) {
			res := lintPath(t, file, Options{})
			for _, f := range res.Findings {
				if file == "caddy/Caddyfile" && f.Start.Line == 3 {
					continue
				}
				t.Errorf("unexpected %s at %s:%d: %s", f.Rule, f.File, f.Start.Line, f.Message)
			}
		})
	}
}

// TestEveryRuleHasFixture keeps the table honest: each registered rule has at
// least one true positive above.
func TestEveryRuleHasFixture(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range ruleCases {
		for _, w := range tc.wants {
			seen[w.rule] = true
		}
	}
	for _, r := range Rules() {
		if !seen[r.ID] {
			t.Errorf("rule %s (%s) has no true-positive fixture", r.ID, r.Name)
		}
	}
}

// TestFixesResolveFindings applies every fix to each bad fixture and lints
// the result: every finding that had a fix must be gone, and the others
// (no mechanical fix) must remain.
func TestFixesResolveFindings(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.file, func(t *testing.T) {
			res := lintPath(t, tc.file, Options{})
			src, err := os.ReadFile(filepath.Join(rulesDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			fixed := ApplyFixes(src, res.Findings)
			var unfixable []want
			for _, f := range res.Findings {
				if f.Fix == nil {
					unfixable = append(unfixable, want{f.Rule, f.Start.Line})
				} else if !strings.Contains(f.Fixed, f.Fix.NewText) {
					t.Errorf("%s: Fixed %q does not show the replacement %q", f.Rule, f.Fixed, f.Fix.NewText)
				}
			}
			dir := t.TempDir()
			// Keep the name (kind detection) and a neighbouring package main
			// for go.mod files.
			p := filepath.Join(dir, filepath.Base(tc.file))
			if err := os.WriteFile(p, fixed, 0o644); err != nil {
				t.Fatal(err)
			}
			if filepath.Base(tc.file) == "go.mod" {
				os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
			}
			if strings.Contains(tc.file, "nginx") {
				// keep kind detection by directory name
				nd := filepath.Join(dir, "nginx")
				os.Mkdir(nd, 0o755)
				p = filepath.Join(nd, filepath.Base(tc.file))
				os.WriteFile(p, fixed, 0o644)
			}
			after, err := Lint(context.Background(), []string{p}, Options{BaseDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			var left []want
			for _, f := range after.Findings {
				left = append(left, want{f.Rule, f.Start.Line})
			}
			if len(left) != len(unfixable) {
				t.Errorf("after fixes: %v remain, want only the unfixable %v\n--- fixed file ---\n%s", left, unfixable, fixed)
			}
		})
	}
}

// TestGoFixesCompile applies the Go fixes to the bad Go fixtures in a
// temporary module and runs go vet on it: the replacement text must be valid,
// type-correct Go. The unfixed fixtures are vetted too, so the fixtures stay
// realistic.
func TestGoFixesCompile(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	for _, fixed := range []bool{false, true} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/fixed\n\ngo 1.26\n"), 0o644)
		var files []string
		filepath.WalkDir(filepath.Join(rulesDir, "go/bad"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") {
				files = append(files, p)
			}
			return nil
		})
		if len(files) < 3 {
			t.Fatalf("found %d Go fixtures", len(files))
		}
		for _, f := range files {
			rel, _ := filepath.Rel(filepath.Join(rulesDir, "go/bad"), f)
			data, _ := os.ReadFile(f)
			if fixed {
				res := lintPath(t, filepath.Join("go/bad", rel), Options{})
				if len(res.Findings) == 0 {
					t.Fatalf("%s: no findings to fix", rel)
				}
				data = ApplyFixes(data, res.Findings)
			}
			out := filepath.Join(dir, rel)
			os.MkdirAll(filepath.Dir(out), 0o755)
			if err := os.WriteFile(out, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(goBin, "vet", "./...")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go vet (fixed=%v) failed: %v\n%s", fixed, err, out)
		}
		if fixed {
			res, err := Lint(context.Background(), []string{dir}, Options{BaseDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Findings {
				t.Errorf("fixed tree still has %s at %s:%d: %s", f.Rule, f.File, f.Start.Line, f.Message)
			}
		}
	}
}

func TestExcludeTestFiles(t *testing.T) {
	all := lintPath(t, "go/bad", Options{})
	ex := lintPath(t, "go/bad", Options{Excludes: []string{"**/*_test.go", "examples/lint/", "examples/infra/", "lint/rules.yaml"}})
	count := func(r *Result, file string) int {
		n := 0
		for _, f := range r.Findings {
			if f.File == file {
				n++
			}
		}
		return n
	}
	if count(all, "go/bad/server_test.go") != 1 {
		t.Errorf("without --exclude the test file should be linted: %v", got(all))
	}
	if count(ex, "go/bad/server_test.go") != 0 {
		t.Errorf("--exclude '**/*_test.go' did not exclude the test file: %v", got(ex))
	}
	if count(ex, "go/bad/server.go") == 0 {
		t.Errorf("--exclude removed too much: %v", got(ex))
	}
	exDir := lintPath(t, "go/bad", Options{Excludes: []string{"legacy/"}})
	if count(exDir, "go/bad/legacy/main.go") != 0 || count(exDir, "go/bad/server.go") == 0 {
		t.Errorf("--exclude legacy/ = %v", got(exDir))
	}
	if _, err := Lint(context.Background(), []string{rulesDir}, Options{Disable: []string{"PQ999"}}); err == nil {
		t.Error("unknown --disable rule accepted")
	}
	dis := lintPath(t, "go/bad", Options{Disable: []string{"go-curve-preferences-classical", "PQ104"}})
	for _, f := range dis.Findings {
		if f.Rule == "PQ101" || f.Rule == "PQ104" {
			t.Errorf("disabled rule reported: %s", f.Rule)
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func files(res *Result) []string {
	m := map[string]bool{}
	for _, f := range res.Findings {
		m[f.File] = true
	}
	var out []string
	for f := range m {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func TestParseErrorsDoNotStopTheRun(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a/broken.go":   "package broken\n\nfunc f() {\n\treturn &tls.Config{\n}\n",
		"b/bad.env":     "GODEBUG=tlsmlkem=0\n",
		"c/broken.toml": "[tls\ncurvePreferences = [\n",
		"d/go.mod":      "module x\n\ngo 1.22 1.23\n",
		"e/ok.yaml":     "a: [1, 2\n",
	})
	var progress []int
	res, err := Lint(context.Background(), []string{dir}, Options{BaseDir: dir, Progress: func(n int) { progress = append(progress, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(progress) != "[1 2 3 4 5]" {
		t.Errorf("progress calls = %v, want one per file", progress)
	}
	w := []want{{"PQ000", 6}, {"PQ104", 1}, {"PQ000", 2}, {"PQ000", 3}, {"PQ000", 1}}
	if !sameWants(got(res), w) {
		t.Errorf("findings = %v, want %v", got(res), w)
	}
	if res.Files != 5 {
		t.Errorf("Files = %d, want 5", res.Files)
	}
}

func TestWalkHonoursGitignoreAndSkips(t *testing.T) {
	dir := t.TempDir()
	bad := "GODEBUG=tlsmlkem=0\n"
	writeFiles(t, dir, map[string]string{
		".git/HEAD":              "ref: refs/heads/main\n",
		".gitignore":             "ignored/\n*.local.env\n!keep.local.env\n/rootonly.env\n",
		"ignored/a.env":          bad,
		"x.local.env":            bad,
		"keep.local.env":         bad,
		"rootonly.env":           bad,
		"sub/rootonly.env":       bad, // anchored pattern: only the root one is ignored
		"sub/.gitignore":         "secret.env\n",
		"sub/secret.env":         bad,
		"sub/other.env":          bad,
		"sub/deep/secret.env":    bad, // nested .gitignore applies below too
		"vendor/v.env":           bad,
		"node_modules/m/n.env":   bad,
		"third_party/t.env":      bad,
		"testdata/t.env":         bad,
		"notes.txt":              bad, // not a lintable kind
		"cmd/app/config.ini.bak": bad,
	})
	res, err := Lint(context.Background(), []string{dir}, Options{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{"keep.local.env", "sub/other.env", "sub/rootonly.env"}
	if g := files(res); strings.Join(g, ",") != strings.Join(wantFiles, ",") {
		t.Errorf("files = %v, want %v", g, wantFiles)
	}
	res, _ = Lint(context.Background(), []string{dir}, Options{BaseDir: dir, IncludeTestdata: true, NoGitignore: true})
	wantAll := []string{"ignored/a.env", "keep.local.env", "rootonly.env", "sub/deep/secret.env", "sub/other.env", "sub/rootonly.env", "sub/secret.env", "testdata/t.env", "x.local.env"}
	if g := files(res); strings.Join(g, ",") != strings.Join(wantAll, ",") {
		t.Errorf("with --no-gitignore --include-testdata: files = %v, want %v", g, wantAll)
	}
	// Linting a subdirectory still honours the repository's root .gitignore.
	writeFiles(t, dir, map[string]string{".gitignore": "ignored/\n/sub/other.env\n*.local.env\n"})
	res, _ = Lint(context.Background(), []string{filepath.Join(dir, "sub")}, Options{BaseDir: dir})
	if g := files(res); strings.Join(g, ",") != "sub/rootonly.env" {
		t.Errorf("lint sub/: files = %v, want [sub/rootonly.env]", g)
	}
	// A file named explicitly is linted even when ignored.
	res, _ = Lint(context.Background(), []string{filepath.Join(dir, "x.local.env")}, Options{BaseDir: dir})
	if len(res.Findings) != 1 {
		t.Errorf("explicit ignored file: %v", got(res))
	}
	if _, err := Lint(context.Background(), []string{filepath.Join(dir, "missing")}, Options{}); err == nil {
		t.Error("missing path accepted")
	}
}

func TestBaselineSurvivesLineShifts(t *testing.T) {
	dir := t.TempDir()
	conf := "server {\n    ssl_protocols TLSv1.2;\n    ssl_ecdh_curve prime256v1;\n}\n"
	writeFiles(t, dir, map[string]string{"nginx/site.conf": conf})
	res, err := Lint(context.Background(), []string{dir}, Options{BaseDir: dir})
	if err != nil || len(res.Findings) != 2 {
		t.Fatalf("setup: %v %v", got(res), err)
	}
	bpath := filepath.Join(dir, "baseline.json")
	if err := NewBaseline(res.Findings).WriteFile(bpath); err != nil {
		t.Fatal(err)
	}
	b, err := ReadBaseline(bpath)
	if err != nil {
		t.Fatal(err)
	}
	// Shift every line down and add one new problem.
	writeFiles(t, dir, map[string]string{"nginx/site.conf": "# header added later\n\n" + conf + "server {\n    ssl_ecdh_curve secp384r1;\n}\n"})
	res, err = Lint(context.Background(), []string{dir}, Options{BaseDir: dir, Baseline: b})
	if err != nil {
		t.Fatal(err)
	}
	if w := []want{{"PQ311", 8}}; !sameWants(got(res), w) {
		t.Errorf("with baseline: %v, want %v", got(res), w)
	}
	if res.SuppressedBaseline != 2 {
		t.Errorf("SuppressedBaseline = %d, want 2", res.SuppressedBaseline)
	}
	// Editing the accepted line makes it a new finding again.
	writeFiles(t, dir, map[string]string{"nginx/site.conf": "server {\n    ssl_protocols TLSv1.1 TLSv1.2;\n    ssl_ecdh_curve prime256v1;\n}\n"})
	res, _ = Lint(context.Background(), []string{dir}, Options{BaseDir: dir, Baseline: b})
	if w := []want{{"PQ312", 2}}; !sameWants(got(res), w) {
		t.Errorf("edited line: %v, want %v", got(res), w)
	}
	os.WriteFile(bpath, []byte(`{"schema":"other/v9","findings":[]}`), 0o644)
	if _, err := ReadBaseline(bpath); err == nil || !strings.Contains(err.Error(), "--write-baseline") {
		t.Errorf("wrong schema: err = %v", err)
	}
}

func allFindings(t *testing.T) *Result {
	t.Helper()
	abs, _ := filepath.Abs(rulesDir)
	res, err := Lint(context.Background(), []string{abs}, Options{BaseDir: abs})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSARIFValidatesAgainstSchema(t *testing.T) {
	sch := testschema.Load(t, "testdata/sarif-2.1.0-rtm.5.json")
	res := allFindings(t)
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, res, "test"); err != nil {
		t.Fatal(err)
	}
	if err := testschema.Validate(t, sch, buf.Bytes()); err != nil {
		t.Fatalf("SARIF output does not validate: %v", err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string } `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Fixes     []any  `json:"fixes"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Results) != len(res.Findings) || len(run.Tool.Driver.Rules) != len(Rules()) {
		t.Fatalf("results %d (want %d), rules %d", len(run.Results), len(res.Findings), len(run.Tool.Driver.Rules))
	}
	fixes := 0
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("ruleIndex %d does not point at %s", r.RuleIndex, r.RuleID)
		}
		if strings.HasPrefix(r.Locations[0].PhysicalLocation.ArtifactLocation.URI, "/") {
			t.Errorf("URI %q should be relative to %%SRCROOT%%", r.Locations[0].PhysicalLocation.ArtifactLocation.URI)
		}
		fixes += len(r.Fixes)
	}
	if fixes == 0 {
		t.Error("no fixes in SARIF")
	}
	// The validator is not a rubber stamp: a broken log is rejected.
	broken := bytes.Replace(buf.Bytes(), []byte(`"level": "error"`), []byte(`"level": "fatal"`), 1)
	if err := testschema.Validate(t, sch, broken); err == nil {
		t.Error("schema accepted level \"fatal\"")
	}
}

func TestJSONReport(t *testing.T) {
	res := allFindings(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res, "test"); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Schema   string            `json:"schema"`
		Findings []json.RawMessage `json:"findings"`
		Summary  struct {
			Total  int
			ByRule map[string]int `json:"by_rule"`
		}
		Suppressed struct{ Inline int }
	}
	if err := json.Unmarshal(buf.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Schema != "pqtls.lint/v1" || rep.Summary.Total != len(res.Findings) || len(rep.Findings) != len(res.Findings) {
		t.Fatalf("schema %q total %d findings %d, want %d", rep.Schema, rep.Summary.Total, len(rep.Findings), len(res.Findings))
	}
	sum := 0
	for _, n := range rep.Summary.ByRule {
		sum += n
	}
	if sum != rep.Summary.Total {
		t.Errorf("by_rule sums to %d, total %d", sum, rep.Summary.Total)
	}
	if rep.Suppressed.Inline != 6 {
		t.Errorf("suppressed inline = %d, want 6 (go/good f, suppress/nginx x2, suppress/main.go, suppress/envoy.yaml, suppress/config.go)", rep.Suppressed.Inline)
	}
}

func TestHumanReport(t *testing.T) {
	res := lintPath(t, "nginx/nginx.conf", Options{})
	var plain, color bytes.Buffer
	WriteHuman(&plain, res, false)
	WriteHuman(&color, res, true)
	out := plain.String()
	for _, s := range []string{"nginx/nginx.conf\n", "11:24", "PQ311", "+ ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1:secp384r1;", "Findings by rule:", "PQ312  nginx-protocols-without-tls13", "4 finding(s) in 1 file(s) checked"} {
		if !strings.Contains(out, s) {
			t.Errorf("human output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "\x1b[") || !strings.Contains(color.String(), "\x1b[31m") {
		t.Error("colour must appear only when asked for")
	}
}

func TestExplainAndDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/LINT.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules() {
		e := Explain(r)
		if !strings.Contains(e, r.Rationale) || len(r.References) == 0 || r.Bad == "" || r.Good == "" {
			t.Errorf("%s: incomplete explanation", r.ID)
		}
		if !bytes.Contains(doc, []byte("### "+r.ID+" ")) {
			t.Errorf("docs/LINT.md has no section \"### %s %s\"", r.ID, r.Name)
		}
		if byName, ok := LookupRule(r.Name); !ok || byName.ID != r.ID {
			t.Errorf("LookupRule(%q) failed", r.Name)
		}
	}
}

func TestClassifyGroups(t *testing.T) {
	cases := []struct {
		list      string
		classical bool
	}{
		{"X25519:P-256", true},
		{"X25519MLKEM768:X25519", false},
		{"?X25519MLKEM768:X25519", false},
		{"*X25519MLKEM768/X25519:P-256", false},
		{"-X25519MLKEM768:X25519", true},
		{"DEFAULT", false},
		{"auto", false},
		{"X25519Kyber768Draft00:X25519", true},
		{"MLKEM768", false},
		{"$CURVES", false},
		{"brainpoolP256r1", false}, // unknown only: cannot tell
		{"brainpoolP256r1:prime256v1", true},
		{"secp256r1, x25519", true},
	}
	for _, c := range cases {
		if g := classifyGroups(splitGroups(c.list)); g.classical() != c.classical {
			t.Errorf("%q: classical = %v, want %v", c.list, g.classical(), c.classical)
		}
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		pat, path string
		dir, want bool
	}{
		{"*.go", "a/b/c.go", false, true},
		{"**/*_test.go", "a_test.go", false, true},
		{"**/*_test.go", "x/y/a_test.go", false, true},
		{"/build", "build", true, true},
		{"/build", "x/build", true, false},
		{"deploy/legacy/", "deploy/legacy", true, true},
		{"deploy/legacy/", "deploy/legacy", false, false},
		{"a/**/b", "a/x/y/b", false, true},
		{"a/**", "a/x/y", false, true},
		{"[abc].env", "b.env", false, true},
		{"[!abc].env", "b.env", false, false},
	}
	for _, c := range cases {
		r, ok := compileGlob(c.pat, "")
		if !ok {
			t.Fatalf("compile %q", c.pat)
		}
		if g := r.match(c.path, c.dir); g != c.want {
			t.Errorf("%q ~ %q (dir=%v) = %v, want %v", c.pat, c.path, c.dir, g, c.want)
		}
	}
}

// FuzzCheck feeds arbitrary content to every file kind: no panic, and every
// finding and fix stays inside the file.
func FuzzCheck(f *testing.F) {
	filepath.WalkDir(rulesDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, err := os.ReadFile(p); err == nil && len(data) < 4096 {
				f.Add(uint8(kindByName(filepath.ToSlash(p))), data)
			}
		}
		return nil
	})
	f.Add(uint8(kindYAML), []byte("a:\n  ecdh_curves:\n  - \xff\n"))
	f.Add(uint8(kindGo), []byte("//go:debug default=go1.2\npackage p\n"))
	f.Fuzz(func(t *testing.T, k uint8, data []byte) {
		kind := fileKind(k%uint8(kindText)) + 1
		s := newSource("f", data, kind)
		fs, _ := check(s, &checkEnv{isMain: func() bool { return true }, path: "/etc/postgresql/18/main/f"})
		for _, fd := range fs {
			if fd.Start.Offset < 0 || fd.End.Offset > len(data) || fd.Start.Offset > fd.End.Offset {
				t.Fatalf("%s span %d..%d outside %d bytes", fd.Rule, fd.Start.Offset, fd.End.Offset, len(data))
			}
			if fd.Fix != nil && (fd.Fix.Start.Offset < 0 || fd.Fix.End.Offset > len(data) || fd.Fix.Start.Offset > fd.Fix.End.Offset) {
				t.Fatalf("%s fix span %d..%d outside %d bytes", fd.Rule, fd.Fix.Start.Offset, fd.Fix.End.Offset, len(data))
			}
			_ = fd.fixedLines(data)
			suppressedInline(s, fd)
		}
		ApplyFixes(data, fs)
	})
}

// TestGoFixesCompileWithPqtls vets the fixture that uses the pqtls library
// (PQ501 in Go), before and after its fixes, inside this module so that the
// import resolves without a network: the package is written to a temporary
// directory under lint/ and removed afterwards.
func TestGoFixesCompileWithPqtls(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	src, err := os.ReadFile(filepath.Join(rulesDir, "go/pqtlsuse/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	res := lintPath(t, "go/pqtlsuse/main.go", Options{})
	fixed := ApplyFixes(src, res.Findings)
	if !bytes.Contains(fixed, []byte("pq.ModePrefer")) || !bytes.Contains(fixed, []byte(`pq.ParsePolicy("prefer"`)) {
		t.Fatalf("fixes not applied:\n%s", fixed)
	}
	for _, data := range [][]byte{src, fixed} {
		dir, err := os.MkdirTemp(".", "zz_vetfix_")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.WriteFile(filepath.Join(dir, "main.go"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(goBin, "vet", "./"+filepath.Base(dir))
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go vet failed: %v\n%s\n%s", err, out, data)
		}
		after, err := Lint(context.Background(), []string{dir}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(data, fixed) && len(after.Findings) != 0 {
			t.Errorf("fixed file still has findings: %v", got(after))
		}
	}
}

// TestRepositoryHasNoError lints this repository the way the docs tell users
// to lint theirs in CI, with tests and the deliberately bad examples/lint
// excluded (and the rule catalog lint/rules.yaml, whose "bad" examples are
// classical on purpose): pqtls itself must not keep anything classical.
// (Tests configure classical peers on purpose; internal/demo's
// classical-only server is a warning-level PQ501, deliberately.)
func TestRepositoryHasNoError(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Lint(context.Background(), []string{root}, Options{BaseDir: root, Excludes: []string{"**/*_test.go", "examples/lint/", "examples/infra/", "lint/rules.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files < 50 {
		t.Fatalf("only %d files checked: is %s the repository?", res.Files, root)
	}
	for _, f := range res.Findings {
		if f.Severity >= SeverityError {
			t.Errorf("%s:%d: %s %s", f.File, f.Start.Line, f.Rule, f.Message)
		}
	}
}

// TestUnknownRuleIDs: wherever a rule ID is accepted, an unknown one is an
// error, never an empty rule (issue 12).
func TestUnknownRuleIDs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.env":         "# pqtls-lint:ignore PQ1O4 typo in the rule\nGODEBUG=tlsmlkem=0\n",
		"b.env":         "# pqtls-lint:ignore PQ104,all fine\nGODEBUG=tlsmlkem=0\n",
		"baseline.json": `{"schema":"pqtls.lint.baseline/v1","findings":[{"rule":"PQ999","file":"a.env","fingerprint":"x"}]}`,
	})
	res, err := Lint(context.Background(), []string{dir}, Options{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if w := []want{{"PQ000", 1}, {"PQ104", 2}}; !sameWants(got(res), w) {
		t.Errorf("findings = %v, want %v (unknown ID in an ignore comment reported, suppresses nothing)", got(res), w)
	}
	for _, f := range res.Findings {
		if f.Rule == "PQ000" && (f.File != "a.env" || f.Start.Column != 21 || !strings.Contains(f.Message, `"PQ1O4"`)) {
			t.Errorf("PQ000 at %s:%d:%d %q", f.File, f.Start.Line, f.Start.Column, f.Message)
		}
	}
	if _, err := ReadBaseline(filepath.Join(dir, "baseline.json")); err == nil || !strings.Contains(err.Error(), `unknown rule "PQ999"`) {
		t.Errorf("baseline with an unknown rule: err = %v", err)
	}
	if _, err := Lint(context.Background(), []string{dir}, Options{Disable: []string{"PQ999"}}); err == nil {
		t.Error("--disable PQ999 accepted")
	}
	if _, ok := LookupRule("PQ999"); ok {
		t.Error("LookupRule(PQ999) found a rule")
	}
}

// TestRuleTableIsTheDispatch: every rule ID the checkers can emit is in the
// table, and every rule except PQ000's run-level uses has a checker.
func TestRuleTableIsTheDispatch(t *testing.T) {
	ids := regexp.MustCompile(`"(PQ\d{3})"`)
	paths, _ := filepath.Glob("*.go")
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		data, _ := os.ReadFile(p)
		for _, m := range ids.FindAllStringSubmatch(string(data), -1) {
			if _, ok := ruleByID[m[1]]; !ok {
				t.Errorf("%s names %s, which is not in the rules table", p, m[1])
			}
		}
	}
	for i, r := range Rules() {
		if i > 0 && Rules()[i-1].ID >= r.ID {
			t.Errorf("rules table out of order at %s", r.ID)
		}
		if len(r.checks) == 0 {
			t.Errorf("%s has no checker", r.ID)
		}
		for _, c := range r.checks {
			if c.by == nil || len(c.kinds) == 0 {
				t.Errorf("%s: incomplete check row %+v", r.ID, c)
			}
		}
	}
}

// TestMLDSAGoLineClaim checks PQ464's premise with the real go command: the
// module it reports (go 1.26, crypto/mldsa without a build constraint) does
// not build with a Go 1.26 toolchain, and under Go 1.27 go vet says the go
// line is too old; the near miss (ML-DSA behind //go:build go1.27 with a
// fallback file) passes go vet with either toolchain.
func TestMLDSAGoLineClaim(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	run := func(dir string, args ...string) (string, error) {
		cmd := exec.Command(goBin, args...)
		cmd.Dir = filepath.Join(rulesDir, dir)
		cmd.Env = append(cmd.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	v, err := run("gomod/mldsa", "env", "GOVERSION")
	if err != nil {
		t.Fatalf("go env GOVERSION: %v\n%s", err, v)
	}
	v = strings.TrimSpace(v)
	t.Logf("go command: %s", v)
	if res := lintPath(t, "gomod/mldsa/go.mod", Options{}); !sameWants(got(res), []want{{"PQ464", 3}}) {
		t.Fatalf("gomod/mldsa: findings %v, want PQ464@3", got(res))
	}
	out, err := run("gomod/mldsa", "vet", ".")
	switch {
	case version.Compare(version.Lang(v), "go1.27") < 0:
		if err == nil || !strings.Contains(out, "crypto/mldsa") {
			t.Errorf("%s: go vet of the reported module: err %v, want a missing crypto/mldsa\n%s", v, err, out)
		}
	default:
		if err == nil || !strings.Contains(out, "requires go1.27 or later") {
			t.Errorf("%s: go vet of the reported module: err %v, want \"requires go1.27 or later\"\n%s", v, err, out)
		}
	}
	if out, err := run("gomod/mldsa-tagged", "vet", "."); err != nil {
		t.Errorf("%s: go vet of the guarded module: %v\n%s", v, err, out)
	}
}

// TestLoadRulesRefuses checks that the rule table loader refuses an entry
// naming an unknown checker or file kind, an unknown field and a bad
// severity (each would otherwise give a rule that silently checks nothing),
// and that every checker listed as nameable is used by some rule.
func TestLoadRulesRefuses(t *testing.T) {
	rule := func(extra, checks string) string {
		return "rules:\n  - id: PQ999\n    name: x\n    severity: error\n" + extra + "    checks:\n" + checks
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"checker", rule("", "      - {checker: no-such, kinds: [Go]}\n"), `unknown checker "no-such"`},
		{"kind", rule("", "      - {checker: go, kinds: [Cobol]}\n"), `unknown file kind "Cobol"`},
		{"field", rule("    sevrity: error\n", "      - {checker: go, kinds: [Go]}\n"), "sevrity"},
		{"severity", strings.Replace(rule("", "      - {checker: go, kinds: [Go]}\n"), "severity: error", "severity: loud", 1), "loud"},
	} {
		if _, err := loadRules([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if rs, err := loadRules([]byte(rule("", "      - {checker: go, kinds: [Go]}\n"))); err != nil || len(rs) != 1 || rs[0].checks[0].by != goCode {
		t.Fatalf("valid entry: %v, %+v", err, rs)
	}
	used := map[*checker]bool{}
	for _, r := range rules {
		for _, c := range r.checks {
			used[c.by] = true
		}
	}
	for _, c := range checkers {
		if !used[c] {
			t.Errorf("checker %q is listed in checkers but no rule in rules.yaml uses it", c.name)
		}
	}
}
