package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// toolPackages are the public tool packages: only cmd may wire them
// together; no package under internal/ imports one (docs/ARCHITECTURE.md).
var toolPackages = []string{"scan", "canary", "tunnel", "exporter", "observe", "lint", "bench", "pqgrpc"}

// TestInternalImportsNoTool: the demo command lives under cmd/pqtls, so no
// internal/ package depends on a tool package.
func TestInternalImportsNoTool(t *testing.T) {
	const module = "github.com/pqtls/pqtls/"
	fset := token.NewFileSet()
	err := filepath.WalkDir("../../internal", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, tool := range toolPackages {
				if p == module+tool || strings.HasPrefix(p, module+tool+"/") {
					t.Errorf("%s imports the tool package %s: move it under cmd/pqtls or depend on internal/ only", path, p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
