package lint

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v3"
)

// yamlCurveKeys maps a YAML/TOML key holding a group list to its rule and a
// description of the setting.
var yamlCurveKeys = map[string][2]string{
	"ecdh_curves":      {"PQ301", "Envoy tls_params.ecdh_curves"},
	"ecdhCurves":       {"PQ361", "Istio ecdhCurves"},
	"curvePreferences": {"PQ351", "Traefik curvePreferences"},
}

var (
	envoyOldVersion   = map[string]bool{"TLSv1_0": true, "TLSv1_1": true, "TLSv1_2": true}
	traefikOldVersion = map[string]bool{"VersionTLS10": true, "VersionTLS11": true, "VersionTLS12": true}
	yamlErrLine       = regexp.MustCompile(`line (\d+)`)
	tomlCurves        = regexp.MustCompile(`^\s*curvePreferences\s*=\s*\[`)
	tomlMaxVer        = regexp.MustCompile(`^\s*maxVersion\s*=\s*["'](VersionTLS1[012])["']`)
)

// checkYAML runs the structural YAML rules (Envoy, Istio, Traefik) on every
// document of a YAML stream. In a templated file (Helm, "{{ }}") every
// template action is blanked out first (same length, newlines kept, so
// positions do not move); if what remains still does not parse, the file
// gets only the line-based rules, without a parse-error finding. A value
// that came from a template is empty, so a list holding one is unknown and
// not flagged.
func checkYAML(s *source) []Finding {
	data := s.data
	templated := bytes.Contains(data, []byte("{{"))
	if templated {
		data = blankTemplateActions(data)
	}
	var fs []Finding
	err := eachYAMLDoc(data, func(doc *yaml.Node) {
		walkYAML(doc, func(key, val *yaml.Node) {
			fs = append(fs, yamlPair(s, key, val)...)
		})
		fs = append(fs, iacListeners(s, doc)...)
	})
	if err != nil {
		if templated {
			return nil
		}
		return append(fs, yamlParseError(s, "YAML", err))
	}
	return fs
}

// eachYAMLDoc calls f on every document of data, in order, up to the first
// that does not parse; that one's error is returned.
func eachYAMLDoc(data []byte, f func(doc *yaml.Node)) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		f(&doc)
	}
}

// yamlParseError is the PQ000 finding of a YAML parser error, at its line;
// what names the syntax (YAML, JSON).
func yamlParseError(s *source, what string, err error) Finding {
	line := 1
	if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
		line = atoiDefault(m[1], 1)
	}
	p := s.posLC(line, 1)
	return s.finding("PQ000", p.Offset, p.Offset, "cannot parse "+what+", so it was not checked: "+strings.TrimPrefix(err.Error(), "yaml: "), nil)
}

// tomlParseError returns the PQ000 finding of s when it is not TOML (what
// names the file in the message), nil when it parses.
func tomlParseError(s *source, what string) []Finding {
	var v map[string]any
	_, err := toml.Decode(string(s.data), &v)
	if err == nil {
		return nil
	}
	line := 1
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line = pe.Position.Line
	}
	p := s.posLC(line, 1)
	return []Finding{s.finding("PQ000", p.Offset, p.Offset, "cannot parse "+what+", so it was not checked: "+firstLine(err.Error()), nil)}
}

func atoiDefault(s string, d int) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return d
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func walkYAML(n *yaml.Node, f func(key, val *yaml.Node)) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			walkYAML(c, f)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			f(n.Content[i], n.Content[i+1])
			walkYAML(n.Content[i+1], f)
		}
	}
}

// nodeOffset returns the byte offset of a YAML node (yaml.v3 columns count
// runes; lines here are ASCII in practice, and posLC clamps).
func nodeOffset(s *source, n *yaml.Node) int {
	line := s.line(n.Line)
	col := runeColToByte(line, n.Column)
	return s.posLC(n.Line, col).Offset
}

func runeColToByte(line string, col int) int {
	i := 0
	for b := range line {
		i++
		if i == col {
			return b + 1
		}
	}
	return len(line) + 1
}

// scalarSpan returns the byte span of a scalar as written, quotes included.
func scalarSpan(s *source, n *yaml.Node) (int, int) {
	a := nodeOffset(s, n)
	l := len(n.Value)
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		l += 2
	}
	b := a + l
	if b > len(s.data) {
		b = len(s.data)
	}
	return a, b
}

func yamlPair(s *source, key, val *yaml.Node) []Finding {
	if key.Kind != yaml.ScalarNode {
		return nil
	}
	if r, ok := yamlCurveKeys[key.Value]; ok {
		return yamlCurves(s, r[0], r[1], val)
	}
	switch key.Value {
	case "groups": // pqtls tunnel listener: overrides the policy's group list
		if pqtlsGroupList(val) {
			return yamlCurves(s, "PQ502", "pqtls groups", val)
		}
	case "ssl-ecdh-curve": // ingress-nginx ConfigMap: nginx's ssl_ecdh_curve
		if val.Kind == yaml.ScalarNode {
			return yamlCurves(s, "PQ311", "ingress-nginx ssl-ecdh-curve", val)
		}
	case "ssl-protocols": // ingress-nginx ConfigMap: nginx's ssl_protocols
		if val.Kind != yaml.ScalarNode {
			return nil
		}
		a, b := scalarSpan(s, val)
		at := b
		if val.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			at--
		}
		return ingressProtocols(s, a, b, at, val.Value)
	case "tls_maximum_protocol_version":
		if val.Kind == yaml.ScalarNode && envoyOldVersion[val.Value] {
			a, b := scalarSpan(s, val)
			return []Finding{s.finding("PQ302", a, b, "Envoy tls_maximum_protocol_version is "+val.Value+": hybrid key exchange exists only in TLS 1.3",
				s.replace("allow TLS 1.3", a, b, "TLSv1_3"))}
		}
	case "maxVersion":
		if val.Kind == yaml.ScalarNode && traefikOldVersion[val.Value] {
			a, b := scalarSpan(s, val)
			return []Finding{s.finding("PQ352", a, b, "Traefik maxVersion is "+val.Value+": hybrid key exchange exists only in TLS 1.3",
				s.replace("allow TLS 1.3", a, b, "VersionTLS13"))}
		}
	}
	return nil
}

// yamlCurves checks a YAML sequence (or a single colon-separated string) of
// group names and builds an insertion fix that keeps the list's style.
func yamlCurves(s *source, rule, what string, val *yaml.Node) []Finding {
	var names []string
	switch val.Kind {
	case yaml.SequenceNode:
		for _, c := range val.Content {
			if c.Kind != yaml.ScalarNode || c.Value == "" {
				return nil // a nested node, or an empty (templated) entry: unknown
			}
			names = append(names, c.Value)
		}
	case yaml.ScalarNode:
		names = splitGroups(val.Value)
	default:
		return nil
	}
	g := classifyGroups(names)
	if !g.classical() {
		return nil
	}
	var fix *Fix
	var a, b int
	if val.Kind == yaml.ScalarNode {
		a, b = scalarSpan(s, val)
		at := a
		if val.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			at++
		}
		sep := ":" // keep the list's own separator
		if strings.Contains(val.Value, ",") && !strings.Contains(val.Value, ":") {
			sep = ","
		}
		fix = s.replace("put "+hybridName+" first", at, at, hybridName+sep)
	} else {
		first := val.Content[0]
		a = nodeOffset(s, val)
		last := val.Content[len(val.Content)-1]
		_, b = scalarSpan(s, last)
		at := nodeOffset(s, first)
		if val.Style&yaml.FlowStyle != 0 {
			fix = s.replace("put "+hybridName+" first", at, at, hybridName+", ")
		} else {
			p := s.pos(at)
			prefix := s.line(p.Line)[:p.Column-1] // "    - "
			fix = s.replace("put "+hybridName+" first", at, at, hybridName+"\n"+prefix)
		}
		if a > at {
			a = at
		}
	}
	return []Finding{s.finding(rule, a, b, curveMessage(what, g), fix)}
}

// checkTOML validates a TOML file (Traefik's static/dynamic configuration)
// and runs the Traefik rules on the decoded keys, locating them in the text.
func checkTOML(s *source) []Finding {
	if bad := tomlParseError(s, "TOML"); bad != nil {
		return bad
	}
	var fs []Finding
	code := codeLines(s, hashComments)
	for i, l := range code {
		ln := i + 1
		if m := tomlMaxVer.FindStringSubmatchIndex(l); m != nil {
			base := s.posLC(ln, 1).Offset
			fs = append(fs, s.finding("PQ352", base+m[2], base+m[3], "Traefik maxVersion is "+l[m[2]:m[3]]+": hybrid key exchange exists only in TLS 1.3",
				s.replace("allow TLS 1.3", base+m[2], base+m[3], "VersionTLS13")))
		}
		if m := tomlCurves.FindStringIndex(l); m != nil {
			// The array may span lines: collect up to the closing bracket.
			base := s.posLC(ln, 1).Offset
			start := base + m[1]
			end := bytes.IndexByte(s.data[start:], ']')
			if end < 0 {
				continue
			}
			body := string(s.data[start : start+end])
			g := classifyGroups(splitGroups(strings.NewReplacer("\n", " ", "\r", " ").Replace(body)))
			if !g.classical() {
				continue
			}
			q := strings.IndexAny(body, `"'`)
			if q < 0 {
				continue
			}
			at := start + q
			fs = append(fs, s.finding("PQ351", base+m[0]+strings.Index(l, "curvePreferences"), start+end+1, curveMessage("Traefik curvePreferences", g),
				s.replace("put "+hybridName+" first", at, at, `"`+hybridName+`", `)))
		}
	}
	return fs
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// blankTemplateActions returns a copy of data with every Go template action
// ("{{ ... }}", "{{- ... -}}") replaced by spaces, newlines kept.
func blankTemplateActions(data []byte) []byte {
	out := append([]byte(nil), data...)
	for i := 0; i+1 < len(out); i++ {
		if out[i] != '{' || out[i+1] != '{' {
			continue
		}
		end := bytes.Index(out[i+2:], []byte("}}"))
		if end < 0 {
			break
		}
		end += i + 4
		for j := i; j < end; j++ {
			if out[j] != '\n' {
				out[j] = ' '
			}
		}
		i = end - 1
	}
	return out
}

// pqtlsGroupList reports whether a "groups" value is a list of TLS group
// names and nothing else (the key is common: RBAC groups, Prometheus rule
// groups, LDAP groups are not group lists and have names pqtls does not
// know, or are not scalars).
func pqtlsGroupList(val *yaml.Node) bool {
	var names []string
	switch val.Kind {
	case yaml.ScalarNode:
		names = splitGroups(val.Value)
	case yaml.SequenceNode:
		for _, c := range val.Content {
			if c.Kind != yaml.ScalarNode {
				return false
			}
			names = append(names, c.Value)
		}
	default:
		return false
	}
	for _, n := range names {
		if _, err := strconv.ParseUint(n, 0, 16); n == "" || err == nil {
			return false // numbers: not written as codepoints in pqtls configs
		}
	}
	g := classifyGroups(names)
	return g.known == len(names)
}

// ingressProtocols is PQ312 for an ingress-nginx ssl-protocols value
// found at [a, b); the fix inserts " TLSv1.3" at at.
func ingressProtocols(s *source, a, b, at int, value string) []Finding {
	protos := strings.Fields(value)
	if len(protos) == 0 {
		return nil
	}
	for _, p := range protos {
		if strings.EqualFold(p, "TLSv1.3") {
			return nil
		}
	}
	return []Finding{s.finding("PQ312", a, b, "ingress-nginx ssl-protocols "+strings.Join(protos, " ")+" does not include TLSv1.3: hybrid key exchange exists only in TLS 1.3",
		s.replace("add TLSv1.3", at, at, " TLSv1.3"))}
}
