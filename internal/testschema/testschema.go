// Package testschema compiles the JSON Schemas that tests validate output
// against (docs/schemas/*.schema.json, the SARIF 2.1.0 schema) and checks
// documents with them. It is a test helper: only _test.go files import it.
package testschema

import (
	"bytes"
	"os"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	mu    sync.Mutex
	cache = map[string]*jsonschema.Schema{}
)

// Load compiles the schema in the file at path once per test binary and
// returns it; a missing or invalid schema fails t. Its "format" keywords
// (date-time, uri...) are asserted, not mere annotations.
func Load(t testing.TB, path string) *jsonschema.Schema {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if s, ok := cache[path]; ok {
		return s
	}
	s, err := compile(path)
	if err != nil {
		t.Fatalf("schema %s: %v", path, err)
	}
	cache[path] = s
	return s
}

func compile(path string) (*jsonschema.Schema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("schema.json")
}

// Validate checks the JSON document doc against s. A document that is not
// JSON fails t; a document the schema rejects is the returned error.
func Validate(t testing.TB, s *jsonschema.Schema, doc []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	return s.Validate(v)
}
