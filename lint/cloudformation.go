package lint

import (
	"bytes"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CloudFormation (YAML and JSON) and Pulumi YAML programs: the ELB
// listeners among their resources (PQ601, PQ602), located with the YAML
// parser's node positions.

// iacDialect names the keys of one template format.
type iacDialect struct {
	resources, typ, props, protocol, policy string
}

var (
	cfnDialect    = iacDialect{"Resources", "Type", "Properties", "Protocol", "SslPolicy"}
	pulumiDialect = iacDialect{"resources", "type", "properties", "protocol", "sslPolicy"}
)

// mapGet returns the key and value nodes of key in a mapping node.
func mapGet(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// yamlLiteral is the value of a plain or quoted scalar without a tag such
// as !Ref or !Sub (those are not literals).
func yamlLiteral(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || (n.Tag != "" && n.Tag != "!!str" && !strings.HasPrefix(n.Tag, "tag:")) {
		return "", false
	}
	return strings.TrimSpace(n.Value), true
}

// iacListeners checks the listener resources of one YAML/JSON document.
func iacListeners(s *source, doc *yaml.Node) []Finding {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	var fs []Finding
	for _, d := range []iacDialect{cfnDialect, pulumiDialect} {
		_, res := mapGet(root, d.resources)
		if res == nil || res.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(res.Content); i += 2 {
			name, r := res.Content[i], res.Content[i+1]
			_, t := mapGet(r, d.typ)
			if tv, ok := yamlLiteral(t); !ok || !elbListenerTypes[tv] {
				continue
			}
			fs = append(fs, elbFindings(s, yamlListener(s, d, name, r))...)
		}
	}
	return fs
}

func yamlListener(s *source, d iacDialect, name, r *yaml.Node) elbListener {
	first := nodeOffset(s, name)
	l := elbListener{what: name.Value, first: first, firstEnd: lineEnd(s, first), insertAt: -1}
	_, props := mapGet(r, d.props)
	pk, pv := mapGet(props, d.protocol)
	l.protocol, _ = yamlLiteral(pv)
	if pv != nil && pv.Kind == yaml.ScalarNode {
		_, end := scalarSpan(s, pv)
		json := pk.Style&yaml.DoubleQuotedStyle != 0
		switch {
		case props.Style&yaml.FlowStyle != 0 && json:
			l.insertAt = end
			l.insert = func(p string) string { return `, "` + d.policy + `": "` + p + `"` }
		case props.Style&yaml.FlowStyle != 0:
			l.insertAt = end
			l.insert = func(p string) string { return ", " + d.policy + ": " + p }
		default:
			_, indent := lineStart(s, nodeOffset(s, pk))
			l.insertAt = lineEnd(s, end)
			l.insert = func(p string) string { return "\n" + indent + d.policy + ": " + p }
		}
	}
	if _, v := mapGet(props, d.policy); v != nil {
		l.hasPolicy = true
		l.policy, _ = yamlLiteral(v)
		if v.Kind == yaml.ScalarNode {
			l.policyA, l.policyB = scalarSpan(s, v)
			if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				l.policyA, l.policyB = l.policyA+1, l.policyB-1
			}
		}
	}
	return l
}

// checkJSONTemplate reads a JSON CloudFormation template (or Pulumi JSON
// export) that names an ELB listener type; other JSON files are not parsed
// (package.json, tsconfig with comments...). JSON is YAML, so the YAML
// parser gives the positions; tabs, which YAML does not allow as
// indentation, are read as spaces (same length, so offsets hold).
func checkJSONTemplate(s *source) []Finding {
	if !bytes.Contains(s.data, []byte("ElasticLoadBalancingV2::Listener")) && !bytes.Contains(s.data, []byte(":Listener\"")) {
		return nil
	}
	data := bytes.ReplaceAll(s.data, []byte("\t"), []byte(" "))
	var fs []Finding
	if err := eachYAMLDoc(data, func(doc *yaml.Node) { fs = append(fs, iacListeners(s, doc)...) }); err != nil {
		return []Finding{yamlParseError(s, "JSON", err)}
	}
	return fs
}
