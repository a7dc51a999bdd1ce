//go:build unix

package lint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A file lint cannot read, one too large to read, or a named pipe (reading
// it would block) is a PQ000 finding, not a silent pass or a hang; an
// oversized script bundle is skipped quietly.
func TestUnreadableAndOversizedFiles(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("# filler line for a generated manifest\n", MaxFileSize/38+1)
	writeFiles(t, dir, map[string]string{
		"nginx/site.conf":  "server {\n    ssl_ecdh_curve prime256v1;\n}\n",
		"deploy/huge.yaml": big,
		"web/bundle.js":    big,
	})
	if err := os.Chmod(filepath.Join(dir, "nginx/site.conf"), 0); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "deploy/pipe.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Lint(context.Background(), []string{dir}, Options{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string]Finding{}
	for _, f := range res.Findings {
		byFile[f.File] = f
	}
	if f, ok := byFile["deploy/huge.yaml"]; !ok || f.Rule != "PQ000" || !strings.Contains(f.Message, "larger than") {
		t.Errorf("oversized YAML: %+v", byFile)
	}
	if f, ok := byFile["deploy/pipe.yaml"]; !ok || f.Rule != "PQ000" || !strings.Contains(f.Message, "not a regular file") {
		t.Errorf("named pipe (must not block the run): %+v", byFile)
	}
	if _, ok := byFile["web/bundle.js"]; ok {
		t.Errorf("oversized script bundle reported: %+v", byFile["web/bundle.js"])
	}
	f, ok := byFile["nginx/site.conf"]
	if os.Geteuid() == 0 {
		// root reads a mode-0 file: it is checked normally.
		if !ok || f.Rule != "PQ311" {
			t.Errorf("mode-0 file as root: %+v", byFile)
		}
	} else if !ok || f.Rule != "PQ000" || !strings.Contains(f.Message, "cannot read") {
		t.Errorf("unreadable file: %+v", byFile)
	}
}
