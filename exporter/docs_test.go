package exporter

import (
	"os"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/doccheck"
)

// TestExporterKeysDocumented checks that docs/EXPORTER.md documents every
// module key (the flags are checked in cmd/pqtls).
func TestExporterKeysDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/EXPORTER.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	n := 0
	for _, f := range doccheck.Fields(Module{}, "yaml") {
		n++
		if !strings.Contains(text, "`"+f.Name+"`") {
			t.Errorf("docs/EXPORTER.md does not document module key %s%s", f.Path, f.Name)
		}
	}
	if n < 11 {
		t.Errorf("only %d module keys found", n)
	}
}
