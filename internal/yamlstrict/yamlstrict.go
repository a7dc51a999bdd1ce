// Package yamlstrict decodes a YAML configuration file into a Go struct
// strictly, with errors written for the person who edits the file: one line
// per problem, "file:line: message", naming the YAML key and the valid keys,
// never a Go type. It also returns the line of every key and list item, so
// that later validation errors can point at the right line.
package yamlstrict

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Lines maps a key path to its line: "listeners[0]" is the first item of
// the listeners list, "listeners[0].listen" its listen key, "metrics" a
// top-level key.
type Lines map[string]int

// maxNodes bounds the nodes visited, aliases expanded ("billion laughs").
const maxNodes = 100000

// Decode decodes the single YAML document in data into v (a pointer to a
// struct whose fields carry yaml tags). name prefixes every error. Unknown
// keys, keys given twice, values of the wrong kind and a second document are
// errors; all of them are reported, one per line (errors.Join).
func Decode(data []byte, name string, v any) (Lines, error) {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file", name)
		}
		return nil, syntaxError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxError(name, err)
		}
		return nil, fmt.Errorf("%s:%d: a second YAML document (after ---): put everything in one document", name, extra.Line)
	}
	d := &decoder{name: name, lines: Lines{}}
	d.walk(&doc, reflect.ValueOf(v).Elem(), "")
	return d.lines, errors.Join(d.errs...)
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// syntaxError rewrites "yaml: line 3: msg" as "name:3: msg".
func syntaxError(name string, err error) error {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			return fmt.Errorf("%s:%s: %s", name, m[1], msg[len(m[0]):])
		}
		return fmt.Errorf("%s: %s", name, msg[len(m[0]):])
	}
	return fmt.Errorf("%s: %s", name, msg)
}

type decoder struct {
	name  string
	lines Lines
	errs  []error
	nodes int
}

func (d *decoder) fail(n *yaml.Node, format string, a ...any) {
	d.errs = append(d.errs, fmt.Errorf("%s:%d: %s", d.name, n.Line, fmt.Sprintf(format, a...)))
}

var unmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

// kindWords names what a value of a Go kind must look like in YAML.
var kindWords = map[reflect.Kind]string{
	reflect.Bool: "true or false", reflect.String: "a string",
	reflect.Int: "a whole number", reflect.Int64: "a whole number", reflect.Int32: "a whole number",
	reflect.Uint: "a whole number >= 0", reflect.Uint16: "a whole number >= 0", reflect.Uint64: "a whole number >= 0",
	reflect.Float64: "a number",
}

// nodeWords names a YAML node kind.
var nodeWords = map[yaml.Kind]string{yaml.MappingNode: "a mapping (key: value)", yaml.SequenceNode: "a list", yaml.ScalarNode: "a single value"}

func (d *decoder) walk(n *yaml.Node, v reflect.Value, path string) {
	if d.nodes++; d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.fail(n, "too many values (more than %d, aliases included)", maxNodes)
		}
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			d.walk(n.Content[0], v, path)
		}
		return
	case yaml.AliasNode:
		d.walk(n.Alias, v, path)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // key: (empty) keeps the zero value
	}
	key := path[strings.LastIndex(path, ".")+1:]
	if v.CanAddr() && reflect.PointerTo(v.Type()).Implements(unmarshaler) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			// Our own types write "line N: msg"; keep the message.
			msg := strings.TrimPrefix(yamlLine.ReplaceAllString(err.Error(), ""), fmt.Sprintf("line %d: ", n.Line))
			if strings.Contains(msg, "unmarshal") { // a decoder error: no Go types to the user
				msg = "invalid value"
			}
			d.fail(n, "%s: %s", key, strings.ReplaceAll(msg, "\n", " "))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.walk(n, v.Elem(), path)
	case reflect.Struct:
		d.walkStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, "%s: want a list, got %s", key, nodeWords[n.Kind])
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.lines[p] = item.Line
			d.walk(item, v.Index(i), p)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, "%s: want %s, got %s", key, kindWords[v.Kind()], nodeWords[n.Kind])
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, "%s: %q is not %s", key, n.Value, kindWords[v.Kind()])
		}
	}
}

func (d *decoder) walkStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		what := "the file"
		if path != "" {
			what = path[strings.LastIndex(path, ".")+1:]
		}
		d.fail(n, "%s: want a mapping (key: value), got %s", what, nodeWords[n.Kind])
		return
	}
	fields := map[string]int{}
	var valid []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || tag == "-" || tag == "" {
			continue
		}
		fields[tag] = i
		valid = append(valid, tag)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(k, "unknown field %q (valid: %s)", k.Value, strings.Join(sorted(valid), ", "))
			continue
		}
		if seen[k.Value] {
			d.fail(k, "%q is given twice", k.Value)
			continue
		}
		seen[k.Value] = true
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		d.lines[p] = k.Line
		d.walk(val, v.Field(idx), p)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
