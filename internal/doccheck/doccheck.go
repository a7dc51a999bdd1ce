// Package doccheck supports the tests that keep machine-readable output and
// config formats documented: it lists the tagged field names of a type, so a
// test can check that the reference doc names every one.
package doccheck

import (
	"reflect"
	"strings"
)

// Field is one tagged struct field.
type Field struct {
	// Path is the dotted path from the root type, e.g. "verdict.hybrid_cost.".
	Path string
	// Name is the tag name, e.g. "delta_p50_ms".
	Name string
}

// Fields walks v's type and returns every field with a tag (such as "json"
// or "yaml"), descending into nested structs, pointers, slices and maps
// defined in this module (so a shared type such as latency.Summary is
// included, time.Time is not). Fields tagged "-" or untagged are skipped.
func Fields(v any, tag string) []Field {
	root := reflect.TypeOf(v)
	for root.Kind() == reflect.Pointer {
		root = root.Elem()
	}
	const module = "github.com/pqtls/pqtls"
	seen := map[reflect.Type]bool{}
	var out []Field
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || !strings.HasPrefix(typ.PkgPath(), module) {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name := strings.Split(f.Tag.Get(tag), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			out = append(out, Field{Path: path, Name: name})
			walk(f.Type, path+name+".")
		}
	}
	walk(root, "")
	return out
}
