package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoPointersOutsideRepo: README, docs and code comments point to
// docs/ARCHITECTURE.md, not to a DESIGN.md that is not in the repository
// or to the team's folder outside the repository (outsideDir).
// outsideDir is the team folder next to the repository, spelled in two
// pieces so that this file does not match its own search.
var outsideDir = ".." + "/shared"

func TestNoPointersOutsideRepo(t *testing.T) {
	root := "../.."
	if _, err := os.Stat(filepath.Join(root, "docs", "ARCHITECTURE.md")); err != nil {
		t.Fatalf("docs/ARCHITECTURE.md: %v", err)
	}
	_, designErr := os.Stat(filepath.Join(root, "DESIGN.md"))
	self, _ := filepath.Abs("docs_links_test.go")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		ext := filepath.Ext(path)
		if d.IsDir() || ext != ".go" && ext != ".md" && ext != ".yaml" && ext != ".yml" && ext != ".sh" {
			return nil
		}
		if abs, _ := filepath.Abs(path); abs == self {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if designErr != nil && strings.Contains(line, "DESIGN.md") || strings.Contains(line, outsideDir) {
				t.Errorf("%s:%d points outside the repository (use docs/ARCHITECTURE.md): %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
