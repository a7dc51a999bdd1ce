package archcheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/pqtls/pqtls"

// tools are the packages behind the pqtls subcommands and pqgrpc: they may
// import the root package and internal/*, never each other.
var tools = map[string]bool{
	"scan": true, "canary": true, "tunnel": true, "exporter": true,
	"observe": true, "lint": true, "bench": true, "pqgrpc": true,
}

// libraries are public packages that are neither the root nor a tool.
var libraries = map[string]bool{"devpki": true}

// imports lists every package of the module with its non-test imports
// inside the module, as paths relative to the module root ("" = root).
func imports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rel := func(p string) (string, bool) {
		if p == module {
			return "", true
		}
		r, ok := strings.CutPrefix(p, module+"/")
		return r, ok
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, ok := rel(f[0])
		if !ok {
			continue
		}
		m[pkg] = nil
		for _, imp := range f[1:] {
			if r, ok := rel(imp); ok {
				m[pkg] = append(m[pkg], r)
			}
		}
	}
	return m
}

func top(p string) string { first, _, _ := strings.Cut(p, "/"); return first }

// allowed says whether pkg may import imp, and why not. leaf says imp
// imports no package of the module.
func allowed(pkg, imp string, leaf bool) (bool, string) {
	switch {
	case pkg == "" && strings.HasPrefix(imp, "internal/") && leaf:
		return true, ""
	case pkg == "":
		return false, "the root package imports no sibling package except a leaf internal/* package (one that imports nothing of the module)"
	case strings.HasPrefix(pkg, "cmd/"):
		return true, ""
	case top(imp) == "cmd":
		return false, "nothing imports cmd/"
	case strings.HasPrefix(pkg, "internal/") && tools[top(imp)]:
		return false, "internal/* never imports a tool package"
	case tools[top(pkg)] && tools[top(imp)] && top(pkg) != top(imp):
		return false, "a tool imports the root package and internal/* only, never another tool"
	case libraries[top(pkg)] && (tools[top(imp)] || strings.HasPrefix(imp, "internal/")):
		return false, "a public library package imports only the root package"
	}
	return true, ""
}

func TestDependencyRules(t *testing.T) {
	all := imports(t)
	for pkg, imps := range all {
		for _, imp := range imps {
			if ok, why := allowed(pkg, imp, len(all[imp]) == 0); !ok {
				t.Errorf("%s imports %s: %s (docs/ARCHITECTURE.md)", show(pkg), show(imp), why)
			}
		}
	}
}

func TestRulesCatchViolations(t *testing.T) {
	bad := [][2]string{{"", "scan"}, {"", "internal/wire"}, {"internal/wire", "scan"}, {"exporter", "scan"}, {"internal/demo", "tunnel"}, {"devpki", "internal/wire"}, {"scan", "cmd/pqtls"}}
	for _, b := range bad {
		// internal/wire imports the root package, so it is not a leaf.
		if ok, _ := allowed(b[0], b[1], false); ok {
			t.Errorf("%s -> %s allowed", show(b[0]), show(b[1]))
		}
	}
	if ok, _ := allowed("", "scan", true); ok {
		t.Error("root -> scan allowed because scan were a leaf: only internal/* leaves are")
	}
	good := [][2]string{{"scan", ""}, {"scan", "internal/wire"}, {"internal/wire", ""}, {"cmd/pqtls", "scan"}, {"tunnel/x", "tunnel"}}
	for _, g := range good {
		if ok, why := allowed(g[0], g[1], false); !ok {
			t.Errorf("%s -> %s refused: %s", show(g[0]), show(g[1]), why)
		}
	}
	if ok, why := allowed("", "internal/acceptloop", true); !ok {
		t.Errorf("root -> leaf internal/acceptloop refused: %s", why)
	}
}

func show(p string) string {
	if p == "" {
		return "pqtls (root)"
	}
	return p
}

// maxLongFuncs is how many non-test functions may exceed maxFuncLines; each
// one carries a comment line starting "long:" that says why.
const (
	maxFuncLines = 100
	maxLongFuncs = 5
)

func TestLongFunctions(t *testing.T) {
	cmd := exec.Command("git", "ls-files", "*.go")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a git checkout)", err)
	}
	var long []string
	fset := token.NewFileSet()
	for _, name := range strings.Fields(string(out)) {
		if strings.HasSuffix(name, "_test.go") || strings.Contains(name, "testdata/") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join("../..", name), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if n <= maxFuncLines {
				continue
			}
			id := name + ":" + fn.Name.Name
			long = append(long, id)
			if !hasReason(fn.Doc) {
				t.Errorf("%s is %d lines (> %d) and its doc comment has no 'long:' line saying why", id, n, maxFuncLines)
			}
		}
	}
	sort.Strings(long)
	if len(long) > maxLongFuncs {
		t.Errorf("%d functions over %d lines (at most %d): %s", len(long), maxFuncLines, maxLongFuncs, strings.Join(long, ", "))
	}
}

func hasReason(doc *ast.CommentGroup) bool {
	if doc == nil {
		return false
	}
	for _, c := range doc.List {
		if strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(c.Text, "//")), "long:") {
			return true
		}
	}
	return false
}
