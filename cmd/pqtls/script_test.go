package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// The documented commands run as testscript scripts (testdata/script/*.txtar)
// against the real pqtls binary: this test binary re-executes itself as
// "pqtls", the way FiloSottile/age tests its commands. See docs/TESTING.md.

var updateScripts = flag.Bool("update", false, "rewrite the golden files in testdata/script from the current output (cmp with a file)")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"pqtls": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs every script in testdata/script. Conditions:
//   - [root]: running as root;
//   - [peers]: real peers are required (PQTLS_REQUIRE_PEERS=1): a script
//     that needs a missing program uses [!exec:prog] skip unless [peers],
//     so a missing peer fails CI instead of skipping;
//   - [short]: go test -short.
//
// Custom commands:
//   - freeport NAME...: sets each NAME to a free 127.0.0.1:PORT;
//   - waitport ADDR: waits up to 10 s until ADDR accepts connections;
//   - normalize FILE: rewrites what changes from run to run (ports, times,
//     dates, durations, serial numbers and key hashes) to fixed tokens, so
//     a human output can be compared with a golden file by cmp (and
//     rewritten by go test -run TestScripts -update).
func TestScripts(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *updateScripts,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "peers":
				return os.Getenv("PQTLS_REQUIRE_PEERS") == "1", nil
			case "short":
				return testing.Short(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"freeport":  cmdFreeport,
			"waitport":  cmdWaitport,
			"normalize": cmdNormalize,
		},
	})
}

func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: freeport NAME...")
	}
	for _, name := range args {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		ts.Setenv(name, ln.Addr().String())
		ln.Close()
	}
}

func cmdWaitport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitport ADDR")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", args[0], time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s never accepted a connection: %v", args[0], err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// normalizers turn run-dependent text into stable tokens, in order.
var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?`), "TIME"},
	{regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`), "DATE"},
	{regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]):\d+`), "$1:PORT"},
	{regexp.MustCompile(`\b\d+(\.\d+)?\s?(ns|µs|us|ms|s|m|h)\b`), "DUR"},
	{regexp.MustCompile(`\b[0-9a-f]{32,}\b`), "HEX"},
	// A CSV row's last cell when it is a decimal number: scan's duration_ms.
	{regexp.MustCompile(`(?m),\d+\.\d+$`), ",DUR"},
}

func cmdNormalize(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: normalize FILE")
	}
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	s := string(b)
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	ts.Check(os.WriteFile(p, []byte(s), 0o644))
}

// docCommand is one shell command shown in a document.
type docCommand struct {
	file string
	line int
	cmd  string
}

// docCommands returns the pqtls commands in the fenced shell blocks of a
// Markdown file ("go run ./cmd/pqtls X" counts as "pqtls X"), with
// continuation lines joined and trailing comments dropped. A block right
// after a line "<!-- notest: REASON -->" is skipped: the reason says why it
// cannot run on loopback (it needs another host, it is a synopsis...).
func docCommands(t *testing.T, file string) []docCommand {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []docCommand
	lines := strings.Split(string(b), "\n")
	lastText := ""
	for i := 0; i < len(lines); i++ {
		trim := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(trim, "```") {
			if trim != "" {
				lastText = trim
			}
			continue
		}
		lang := strings.TrimPrefix(trim, "```")
		shell := lang == "" || lang == "sh" || lang == "bash" || lang == "console" || lang == "shell"
		skip := strings.HasPrefix(lastText, "<!-- notest:")
		if reason := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(lastText, "<!-- notest:"), "-->")); skip && reason == "" {
			t.Errorf("%s:%d: a notest marker must say why the block cannot run on loopback", file, i)
		}
		end := i + 1
		for end < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[end]), "```") {
			end++
		}
		if shell && !skip {
			out = append(out, blockCommands(file, lines[i+1:end], i+2)...)
		}
		i, lastText = end, ""
	}
	return out
}

// blockCommands returns the pqtls commands of one fenced block whose first
// line is line first. In a console block (one with "$ " prompts) only the
// prompted lines are commands; the rest is output. A pipe or an output
// redirection ends the pqtls part.
func blockCommands(file string, block []string, first int) []docCommand {
	prompted := false
	for _, l := range block {
		if strings.HasPrefix(strings.TrimSpace(l), "$ ") {
			prompted = true
		}
	}
	var out []docCommand
	for i := 0; i < len(block); i++ {
		start := i
		trim := strings.TrimSpace(block[i])
		if prompted && !strings.HasPrefix(trim, "$ ") {
			continue
		}
		cmd := strings.TrimPrefix(trim, "$ ")
		for strings.HasSuffix(cmd, "\\") && i+1 < len(block) {
			i++
			cmd = strings.TrimSuffix(cmd, "\\") + " " + strings.TrimSpace(block[i])
		}
		if c, ok := strings.CutPrefix(cmd, "go run ./cmd/pqtls "); ok {
			cmd = "pqtls " + c
		}
		if !strings.HasPrefix(cmd, "pqtls ") {
			continue
		}
		for _, cut := range []string{" #", " | ", " > ", " 2>"} {
			if h := strings.Index(cmd, cut); h >= 0 {
				cmd = cmd[:h]
			}
		}
		out = append(out, docCommand{file, first + start, strings.Join(strings.Fields(cmd), " ")})
	}
	return out
}

// scriptCommands returns the normalised "exec pqtls ..." lines of every
// script, with $REPO/ removed so they read as the docs do.
func scriptCommands(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if l == "-- " || strings.HasPrefix(l, "-- ") {
				break // the archive's files start here
			}
			// Conditions and negation prefix the command: [root] ! exec pqtls ...
			for strings.HasPrefix(l, "[") {
				if i := strings.Index(l, "]"); i > 0 {
					l = strings.TrimSpace(l[i+1:])
				} else {
					break
				}
			}
			l = strings.TrimPrefix(l, "! ")
			c, ok := strings.CutPrefix(l, "exec pqtls ")
			if !ok {
				continue
			}
			c = strings.TrimSuffix(strings.TrimSpace(c), " &")
			c = strings.ReplaceAll(c, "$REPO/", "")
			seen["pqtls "+strings.Join(strings.Fields(c), " ")] = true
		}
	}
	return seen
}

// documentsRun lists the documents whose every pqtls command must be run by
// a script (or sit in a block marked notest with its reason): README.md,
// every docs/*.md and every Markdown file under examples/.
func documentsRun(t *testing.T) []string {
	t.Helper()
	docs := []string{"README.md"}
	for _, pat := range []string{"docs/*.md", "examples/*.md", "examples/*/*.md", "examples/*/*/*.md"} {
		m, err := filepath.Glob(filepath.Join("../..", pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel("../..", f)
			docs = append(docs, rel)
		}
	}
	return docs
}

func TestDocumentedCommandsRun(t *testing.T) {
	ran := scriptCommands(t)
	for _, doc := range documentsRun(t) {
		cmds := docCommands(t, filepath.Join("../..", doc))
		if doc == "README.md" && len(cmds) == 0 {
			t.Errorf("%s: no pqtls command found: is the extractor still right?", doc)
		}
		for _, c := range cmds {
			if !ran[c.cmd] {
				t.Errorf("%s:%d: %q is not run by any testdata/script/*.txtar (add it there, or mark its block <!-- notest: REASON -->)", doc, c.line, c.cmd)
			}
		}
	}
}

func TestDocCommandExtractor(t *testing.T) {
	dir := t.TempDir()
	md := "intro\n\n```sh\ngo run ./cmd/pqtls demo   # comment\npqtls scan a:1 \\\n  --format json\nmake test\n```\n\n<!-- notest: needs a remote host -->\n```sh\npqtls scan api.internal:443\n```\n\n```go\npqtls.ServerConfig()\n```\n\n```console\n$ pqtls observe -r x.pcap | sort > out\npqtls observe: 3 packets\n```\n"
	p := filepath.Join(dir, "x.md")
	os.WriteFile(p, []byte(md), 0o644)
	got := docCommands(t, p)
	want := []string{"pqtls demo", "pqtls scan a:1 --format json", "pqtls observe -r x.pcap"}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %v", got, want)
	}
	for i := range want {
		if got[i].cmd != want[i] {
			t.Errorf("command %d = %q, want %q", i, got[i].cmd, want[i])
		}
	}
	if got[1].line != 5 {
		t.Errorf("line = %d, want 5", got[1].line)
	}
}
