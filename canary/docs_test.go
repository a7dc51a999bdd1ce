package canary

import (
	"os"
	"reflect"
	"strings"
	"testing"
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
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ.PkgPath() != reflect.TypeOf(Report{}).PkgPath() {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(doc, name) {
				t.Errorf("JSON field %s%s is not documented in docs/CANARY.md", path, name)
			}
			walk(f.Type, path+name+".")
		}
	}
	walk(reflect.TypeOf(Report{}), "")
	for _, code := range []string{VerdictOK, VerdictHybridUnavailable, VerdictUnreachable, VerdictUnstable, VerdictLargeHelloDropped,
		VerdictSplitHelloReset, VerdictLargeHelloReset, VerdictRecordFragmentation, VerdictHybridAlert, VerdictHRRBroken,
		VerdictHybridUnexpected, VerdictInterrupted} {
		if !strings.Contains(doc, "| `"+code+"` |") {
			t.Errorf("verdict %s is not in the verdict table of docs/CANARY.md", code)
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
