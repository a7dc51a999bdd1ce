package scan

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestSchemaDocumented checks that every JSON field of pqtls.scan/v1 is
// documented in docs/SCAN.md.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/SCAN.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ.PkgPath() != reflect.TypeOf(Result{}).PkgPath() {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("JSON field %s%s is not documented in docs/SCAN.md", path, name)
			}
			walk(f.Type, path+name+".")
		}
	}
	walk(reflect.TypeOf(Report{}), "")
	for _, v := range Verdicts {
		if !strings.Contains(string(doc), "| `"+string(v)+"` |") {
			t.Errorf("verdict %s is not in the verdict table of docs/SCAN.md", v)
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
