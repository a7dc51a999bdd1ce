package lint

import (
	"go/parser"
	"go/token"
	"go/version"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// checkGoMod runs PQ105-PQ107 on a go.mod. isMain reports whether the module
// builds a command; the go line only sets GODEBUG defaults for main modules,
// so for a library the version findings are lowered to info.
func checkGoMod(s *source, isMain func() bool) []Finding {
	f, err := modfile.Parse(s.name, s.data, nil)
	if err != nil {
		return []Finding{goModParseError(s, err)}
	}
	var fs []Finding
	lineSpan := func(l *modfile.Line) (int, int) { return l.Start.Byte, l.End.Byte }
	// tokenAt finds the text of tok inside a syntax line.
	tokenAt := func(l *modfile.Line, tok string) (int, int) {
		a, b := lineSpan(l)
		if i := strings.Index(string(s.data[a:b]), tok); i >= 0 {
			return a + i, a + i + len(tok)
		}
		return a, b
	}
	library := func(fd *Finding) {
		if !isMain() {
			fd.Severity = SeverityInfo
			fd.Message += " (library module: this only matters where it is the main module, e.g. its own tests)"
		}
	}
	if f.Go != nil && f.Go.Syntax != nil {
		v := "go" + f.Go.Version
		a, b := tokenAt(f.Go.Syntax, f.Go.Version)
		switch {
		case version.Compare(v, "go1.24") < 0:
			fd := s.finding("PQ105", a, b, "go "+f.Go.Version+" is older than Go 1.24: binaries of this module get the Go "+f.Go.Version+" GODEBUG defaults (tlsmlkem=0), so X25519MLKEM768 is off even with a newer toolchain",
				s.replace("raise the go line to 1.26 (1.24 is the minimum for X25519MLKEM768, 1.26 turns on every hybrid)", a, b, "1.26"))
			library(&fd)
			fs = append(fs, fd)
		case version.Compare(v, "go1.26") < 0:
			fd := s.finding("PQ107", a, b, "go "+f.Go.Version+" keeps the Go "+f.Go.Version+" GODEBUG default tlssecpmlkem=0: SecP256r1MLKEM768 and SecP384r1MLKEM1024 are off (X25519MLKEM768 is on)",
				s.replace("raise the go line to 1.26", a, b, "1.26"))
			library(&fd)
			fs = append(fs, fd)
		}
	}
	if f.Toolchain != nil && f.Toolchain.Syntax != nil && version.IsValid(f.Toolchain.Name) && version.Compare(f.Toolchain.Name, "go1.24") < 0 {
		a, b := tokenAt(f.Toolchain.Syntax, f.Toolchain.Name)
		fd := s.finding("PQ105", a, b, "toolchain "+f.Toolchain.Name+" predates Go 1.24 and has no ML-KEM in crypto/tls: binaries built with it are classical only",
			s.replace("use a Go 1.24 or later toolchain", a, b, "go1.26.0"))
		library(&fd)
		fs = append(fs, fd)
	}
	explicitMLKEM := false
	for _, g := range f.Godebug {
		explicitMLKEM = explicitMLKEM || g.Key == "tlsmlkem"
	}
	for _, g := range f.Godebug {
		if g.Syntax == nil {
			continue
		}
		switch {
		case (g.Key == "tlsmlkem" || g.Key == "tlssecpmlkem") && g.Value == "0":
			a, b := tokenAt(g.Syntax, g.Key+"="+g.Value)
			fs = append(fs, s.finding("PQ106", a, b, "godebug "+g.Key+"=0 turns off "+godebugGroups(g.Key)+" in every binary built from this module",
				s.replace("set "+g.Key+"=1 (or delete the line)", b-1, b, "1")))
		case g.Key == "default" && !explicitMLKEM && version.IsValid(g.Value) && version.Compare(g.Value, "go1.24") < 0:
			a, b := tokenAt(g.Syntax, g.Key+"="+g.Value)
			text := "tlsmlkem=1"
			if !g.Syntax.InBlock {
				text = "godebug tlsmlkem=1"
			}
			_, lineEnd := lineSpan(g.Syntax)
			indent := lineIndent(s, g.Syntax.Start.Line)
			fs = append(fs, s.finding("PQ106", a, b, "godebug default="+g.Value+" restores GODEBUG defaults older than Go 1.24, which include tlsmlkem=0: X25519MLKEM768 is off",
				s.replace("keep the default but turn hybrid key exchange back on", lineEnd, lineEnd, "\n"+indent+text)))
		}
	}
	return fs
}

func lineIndent(s *source, n int) string {
	l := s.line(n)
	return l[:len(l)-len(strings.TrimLeft(l, " \t"))]
}

// goModParseError converts a modfile error ("go.mod:3:1: ...") into PQ000.
func goModParseError(s *source, err error) Finding {
	msg := err.Error()
	line := 1
	if el, ok := err.(modfile.ErrorList); ok && len(el) > 0 {
		line = el[0].Pos.Line
		msg = el[0].Err.Error()
	}
	p := s.posLC(line, 1)
	return s.finding("PQ000", p.Offset, p.Offset, "cannot parse go.mod, so it was not checked: "+msg, nil)
}

// moduleHasMain reports whether the module rooted at dir has a package main
// (outside vendor/, testdata/ and nested modules). It reads package clauses
// only and stops at the first main.
func moduleHasMain(dir string) bool {
	found := false
	count := 0
	walkModuleGoFiles(dir, func(p string) bool {
		count++
		if count > 20000 {
			found = true // give up: assume it matters
			return true
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.PackageClauseOnly)
		found = err == nil && f.Name.Name == "main"
		return found
	})
	return found
}

// walkModuleGoFiles calls visit for each non-test .go file of the module
// rooted at dir, skipping vendor/, testdata/, hidden and _ directories and
// nested modules, until visit returns true.
func walkModuleGoFiles(dir string, visit func(path string) (stop bool)) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return filepath.SkipDir
		}
		if d.IsDir() {
			if p != dir {
				name := d.Name()
				if name == "vendor" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		if visit(p) {
			return filepath.SkipAll
		}
		return nil
	})
}
