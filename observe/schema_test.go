package observe

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// checkSchema validates flow records against the published JSON Schema of
// pqtls.observe/v1. Every synthetic test calls it through analyze, so each
// reason and note that can be produced is checked against the documented
// set.
func checkSchema(t testing.TB, flows []*Flow) {
	t.Helper()
	schemaOnce.Do(func() {
		var f *os.File
		if f, schemaErr = os.Open("../docs/schemas/pqtls.observe.v1.schema.json"); schemaErr != nil {
			return
		}
		defer f.Close()
		var doc any
		if doc, schemaErr = jsonschema.UnmarshalJSON(f); schemaErr != nil {
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if schemaErr = c.AddResource("observe.json", doc); schemaErr == nil {
			schema, schemaErr = c.Compile("observe.json")
		}
	})
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	for _, f := range flows {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("record does not match docs/schemas/pqtls.observe.v1.schema.json: %v\n%s", err, b)
		}
	}
}
