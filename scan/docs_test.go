package scan

import (
	"os"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/doccheck"
)

// TestSchemaDocumented checks that every JSON field of pqtls.scan/v1 is
// documented in docs/SCAN.md.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/SCAN.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range doccheck.Fields(Report{}, "json") {
		if !strings.Contains(string(doc), "`"+f.Name+"`") {
			t.Errorf("JSON field %s%s is not documented in docs/SCAN.md", f.Path, f.Name)
		}
	}
	for _, v := range Verdicts {
		if !strings.Contains(string(doc), "| `"+string(v)+"` |") {
			t.Errorf("verdict %s is not in the verdict table of docs/SCAN.md", v)
		}
	}
	for _, v := range CNSA2Verdicts {
		if !strings.Contains(string(doc), "| `"+string(v)+"` |") {
			t.Errorf("CNSA 2.0 verdict %s is not in the CNSA 2.0 table of docs/SCAN.md", v)
		}
	}
	for _, c := range FailOnConditions {
		if !strings.Contains(string(doc), "| `"+c+"` |") {
			t.Errorf("--fail-on %s is not documented", c)
		}
	}
	for _, p := range Protocols {
		if p != ProtoAuto && !strings.Contains(string(doc), "| `"+string(p)+"` |") {
			t.Errorf("preamble %s is not documented", p)
		}
	}
}
