package canary

import (
	"os"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/doccheck"
)

// TestSchemaDocumented checks that every JSON field of pqtls.canary/v1,
// every verdict code and every failure class is documented in
// docs/CANARY.md, so that the machine output stays a documented interface.
func TestSchemaDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/CANARY.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, f := range doccheck.Fields(Report{}, "json") {
		if !strings.Contains(doc, f.Name) {
			t.Errorf("JSON field %s%s is not documented in docs/CANARY.md", f.Path, f.Name)
		}
	}
	for _, row := range Verdicts {
		if !strings.Contains(doc, "| `"+row.Code+"` |") {
			t.Errorf("verdict %s is not in the verdict table of docs/CANARY.md", row.Code)
		}
	}
	for _, c := range []string{ClassOK, ClassTimeout, ClassReset, ClassEOF, ClassUnexpected, ClassConnectFailed, ClassCertificate} {
		if !strings.Contains(doc, "`"+c+"`") {
			t.Errorf("failure class %s is not documented in docs/CANARY.md", c)
		}
	}
	for _, name := range CaseNames() {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("case %s is not documented in docs/CANARY.md", name)
		}
	}
}
