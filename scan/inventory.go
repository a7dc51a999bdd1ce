package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Inventory is a YAML fleet inventory (--inventory fleet.yaml):
//
//	defaults:            # optional, applied to every endpoint
//	  owner: platform
//	  tags: {sensitivity: medium}
//	endpoints:
//	  - target: db1.internal:5432   # or host: + port:
//	    service: orders-db
//	    owner: payments
//	    protocol: postgres          # a STARTTLS protocol name sets the preamble
//	    server_name: db1.internal   # optional SNI override
//	    tags: {data_lifetime: 10y, sensitivity: high}
type Inventory struct {
	Defaults  InventoryEntry   `yaml:"defaults"`
	Endpoints []InventoryEntry `yaml:"endpoints"`
}

// InventoryEntry is one endpoint of an Inventory (or its defaults).
type InventoryEntry struct {
	Target     string            `yaml:"target"`
	Host       string            `yaml:"host"`
	Port       int               `yaml:"port"`
	Service    string            `yaml:"service"`
	Owner      string            `yaml:"owner"`
	Protocol   string            `yaml:"protocol"`
	StartTLS   string            `yaml:"starttls"`
	ServerName string            `yaml:"server_name"`
	Tags       map[string]string `yaml:"tags"`
}

// ReadInventory reads a YAML inventory file.
func ReadInventory(path string) ([]Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open inventory: %w", err)
	}
	return ParseInventory(bytes.NewReader(data), path)
}

// ParseInventory parses a YAML inventory. Errors are one line naming the
// file and the line of the offending key or entry; unknown keys are errors
// (a typo in "data_lifetime" under tags is kept, a typo in any other key is
// not). Ranges are not expanded: see [Expand].
func ParseInventory(r io.Reader, name string) ([]Spec, error) {
	var root yaml.Node
	if err := yaml.NewDecoder(r).Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty inventory: add an 'endpoints:' list", name)
		}
		line, msg := splitLine(oneLine(err), "")
		if line != "" {
			line = ":" + line
		}
		return nil, fmt.Errorf("%s%s: %s (the inventory needs 'endpoints:' entries with target, service, owner, protocol, tags)", name, line, msg)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the inventory is a map with an 'endpoints:' list", name, doc.Line)
	}
	var defNode, epNode *yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		switch k := doc.Content[i]; k.Value {
		case "defaults":
			defNode = doc.Content[i+1]
		case "endpoints":
			epNode = doc.Content[i+1]
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q: use defaults or endpoints", name, k.Line, k.Value)
		}
	}
	var def InventoryEntry
	if defNode != nil && defNode.Tag != "!!null" {
		if err := decodeEntry(defNode, &def); err != nil {
			return nil, fmt.Errorf("%s:%s: defaults: %s", name, err.line, err.msg)
		}
	}
	if epNode == nil || epNode.Tag == "!!null" || epNode.Kind == yaml.SequenceNode && len(epNode.Content) == 0 {
		return nil, fmt.Errorf("%s: no endpoints: add an 'endpoints:' list", name)
	}
	if epNode.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: endpoints is a list ('- target: host:port' entries)", name, epNode.Line)
	}
	var out []Spec
	for i, n := range epNode.Content {
		var e InventoryEntry
		if err := decodeEntry(n, &e); err != nil {
			return nil, fmt.Errorf("%s:%s: endpoints[%d]: %s", name, err.line, i, err.msg)
		}
		sp, err := e.spec(def, fmt.Sprintf("%s:%d", name, n.Line))
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

// inventoryKeys are the keys of an InventoryEntry, from its yaml tags.
var inventoryKeys = func() []string {
	var out []string
	t := reflect.TypeFor[InventoryEntry]()
	for i := range t.NumField() {
		out = append(out, t.Field(i).Tag.Get("yaml"))
	}
	return out
}()

type entryError struct{ line, msg string }

// decodeEntry decodes one inventory entry (or the defaults): unknown keys
// and wrong types are reported with their own line, in one line of text.
func decodeEntry(n *yaml.Node, e *InventoryEntry) *entryError {
	if n.Kind != yaml.MappingNode {
		return &entryError{strconv.Itoa(n.Line), "an entry is a map of " + strings.Join(inventoryKeys, ", ")}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(inventoryKeys, k.Value) {
			return &entryError{strconv.Itoa(k.Line), fmt.Sprintf("unknown key %q: use %s", k.Value, strings.Join(inventoryKeys, ", "))}
		}
	}
	if err := n.Decode(e); err != nil {
		line, msg := splitLine(oneLine(err), strconv.Itoa(n.Line))
		return &entryError{line, msg}
	}
	return nil
}

// splitLine splits "line N: msg" into N and msg (def when there is no
// line).
func splitLine(msg, def string) (string, string) {
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if l, m, ok := strings.Cut(rest, ": "); ok {
			return l, m
		}
	}
	return def, msg
}

// oneLine turns a yaml error into one line without Go type names.
func oneLine(err error) string {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	for _, r := range [][2]string{{" into int", ": want a number"}, {" into map[string]string", ": want a map of strings"}, {" into string", ": want a string"}, {"cannot unmarshal ", ""}, {"!!str ", ""}, {"!!seq", "a list"}, {"!!map", "a map"}} {
		msg = strings.ReplaceAll(msg, r[0], r[1])
	}
	return strings.Join(strings.Fields(msg), " ")
}

func (e InventoryEntry) spec(def InventoryEntry, src string) (Spec, error) {
	spec := e.Target
	if spec == "" {
		if e.Host == "" {
			return Spec{}, &TargetError{Source: src, Input: "", Err: errors.New("entry has neither target: nor host:")}
		}
		port := e.Port
		if port == 0 {
			port = def.Port
		}
		spec = e.Host
		if strings.Contains(spec, ":") && !strings.HasPrefix(spec, "[") {
			spec = "[" + spec + "]"
		}
		if port != 0 {
			spec += ":" + strconv.Itoa(port)
		}
	}
	input := spec
	protoName := firstNonEmpty(e.StartTLS, def.StartTLS)
	if protoName == "" {
		if p, err := ParseProtocol(firstNonEmpty(e.Protocol, def.Protocol)); err == nil && p != ProtoAuto {
			protoName = string(p)
		}
	}
	if protoName != "" && !strings.Contains(spec, "://") {
		spec = protoName + "://" + spec
	}
	sp, err := ParseSpec(spec, src)
	if err != nil {
		return Spec{}, err
	}
	t := &sp.Target
	t.Input = input
	t.Service = firstNonEmpty(e.Service, def.Service)
	t.Owner = firstNonEmpty(e.Owner, def.Owner)
	t.Protocol = firstNonEmpty(e.Protocol, def.Protocol)
	if sn := firstNonEmpty(e.ServerName, def.ServerName); sn != "" {
		t.ServerName = sn
	}
	if len(def.Tags)+len(e.Tags) > 0 {
		t.Tags = map[string]string{}
		maps.Copy(t.Tags, def.Tags)
		maps.Copy(t.Tags, e.Tags)
	}
	if v, ok := t.Tags["data_lifetime"]; ok {
		if _, err := ParseLifetime(v); err != nil {
			return Spec{}, &TargetError{Source: src, Input: t.Input, Err: err}
		}
	}
	if v, ok := t.Tags["sensitivity"]; ok {
		if _, err := sensitivityWeight(v); err != nil {
			return Spec{}, &TargetError{Source: src, Input: t.Input, Err: err}
		}
	}
	return sp, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
