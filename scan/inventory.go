package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
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

// ParseInventory parses a YAML inventory. Errors name the file and the line
// of the offending entry; unknown keys are errors (a typo in "data_lifetime"
// under tags is kept, a typo in a top-level key is not). Ranges are not
// expanded: see [Expand].
func ParseInventory(r io.Reader, name string) ([]Spec, error) {
	var doc struct {
		Defaults  yaml.Node   `yaml:"defaults"`
		Endpoints []yaml.Node `yaml:"endpoints"`
	}
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty inventory: add an 'endpoints:' list", name)
		}
		return nil, fmt.Errorf("%s: %w (the inventory needs 'endpoints:' entries with target, service, owner, protocol, tags)", name, err)
	}
	var def InventoryEntry
	if doc.Defaults.Kind != 0 {
		if err := doc.Defaults.Decode(&def); err != nil {
			return nil, fmt.Errorf("%s:%d: defaults: %w", name, doc.Defaults.Line, err)
		}
	}
	if len(doc.Endpoints) == 0 {
		return nil, fmt.Errorf("%s: no endpoints: add an 'endpoints:' list", name)
	}
	var out []Spec
	for i, n := range doc.Endpoints {
		src := fmt.Sprintf("%s:%d", name, n.Line)
		var e InventoryEntry
		if err := strictDecode(&n, &e); err != nil {
			return nil, fmt.Errorf("%s: endpoints[%d]: %w", src, i, err)
		}
		sp, err := e.spec(def, src)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

func strictDecode(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
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
