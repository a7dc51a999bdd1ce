package observe

import (
	"encoding/json"
	"testing"

	"github.com/pqtls/pqtls/internal/testschema"
)

// checkSchema validates flow records against the published JSON Schema of
// pqtls.observe/v1. Every synthetic test calls it through analyze, so each
// reason and note that can be produced is checked against the documented
// set.
func checkSchema(t testing.TB, flows []*Flow) {
	t.Helper()
	schema := testschema.Load(t, "../docs/schemas/pqtls.observe.v1.schema.json")
	for _, f := range flows {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := testschema.Validate(t, schema, b); err != nil {
			t.Errorf("record does not match docs/schemas/pqtls.observe.v1.schema.json: %v\n%s", err, b)
		}
	}
}
