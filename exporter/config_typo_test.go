package exporter

import (
	"errors"
	"strings"
	"testing"
)

// A typo in the config is one line naming the file, the line and the key,
// never a Go type name (issue: "field servce not found in type ...").
func TestConfigTypoIsOneLine(t *testing.T) {
	cases := map[string]struct {
		yaml string
		line int
		want string
	}{
		"module key": {"modules:\n  default:\n    timout: 5s\n", 3, `unknown key timout`},
		"top key":    {"modulez:\n  default: {}\n", 1, `unknown key modulez`},
		"bad type":   {"modules:\n  default:\n    timeout: [1]\n", 3, `cannot unmarshal`},
	}
	for name, c := range cases {
		_, err := ParseConfig([]byte(c.yaml), "x.yaml")
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("%s: %v is not a *ConfigError", name, err)
		}
		msg := err.Error()
		if ce.Line != c.line || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "exporter.") {
			t.Errorf("%s: line %d, %q; want line %d, one line containing %q, no Go type", name, ce.Line, msg, c.line, c.want)
		}
	}
}
