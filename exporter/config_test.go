package exporter

import (
	_ "embed"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pqtls/pqtls/internal/doccheck"
)

// badConfigs holds the invalid configurations of TestParseConfigErrors.
//
//go:embed testdata/bad-configs.yaml
var badConfigs []byte

// TestParseConfigErrors parses each invalid configuration of
// testdata/bad-configs.yaml (module keys, durations, policies, groups,
// files, allowed_targets, max_concurrent_probes) as "x.yaml".
func TestParseConfigErrors(t *testing.T) {
	var cases []struct {
		Name, Config, Want string
		Line               int
	}
	if err := yaml.Unmarshal(badConfigs, &cases); err != nil || len(cases) < 20 {
		t.Fatalf("testdata/bad-configs.yaml: %d cases, %v", len(cases), err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.Config), "x.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *ConfigError", err, err)
			}
			if !strings.Contains(err.Error(), tc.Want) || !strings.HasPrefix(err.Error(), "x.yaml") {
				t.Errorf("error %q does not contain %q", err, tc.Want)
			}
			if tc.Line != 0 && ce.Line != tc.Line {
				t.Errorf("error %q on line %d, want %d", err, ce.Line, tc.Line)
			}
		})
	}
}

func TestParseConfigDefaultsAndPaths(t *testing.T) {
	dir := t.TempDir()
	p := newPKI(t)
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), p.ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "exporter.yaml")
	yml := "modules:\n  default:\n  rel:\n    ca_file: ca.pem\n    enumerate: true\n    enumerate_groups: [X25519MLKEM768, p256]\n    policy: prefer\n"
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Modules["default"]
	if d == nil || d.Timeout != DefaultTimeout || d.policy != nil || len(d.enumGroup) != 0 {
		t.Errorf("default module: %+v", d)
	}
	r := cfg.Modules["rel"]
	if r.roots == nil || len(r.enumGroup) != 2 || r.enumGroup[1] != 0x0017 || r.policy == nil {
		t.Errorf("rel module: roots %v enum %v policy %v", r.roots != nil, r.enumGroup, r.policy)
	}
	if r.Timeout != 10*time.Second {
		t.Errorf("timeout %v", r.Timeout)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := LoadConfig("../examples/exporter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Modules[DefaultModule]; !ok {
		t.Errorf("examples/exporter.yaml has no %q module", DefaultModule)
	}
	// Issue 17: the example shows ca_file (internal CAs), and its file loads.
	if m := cfg.Modules["internal"]; m == nil || m.CAFile == "" || m.roots == nil {
		t.Errorf("examples/exporter.yaml: module internal shows no loaded ca_file: %+v", m)
	}
	// And it restricts targets, loopback included (docs quick start).
	if ok, open := cfg.Restricted(); !ok {
		t.Errorf("examples/exporter.yaml: modules %v have no allowed_targets", open)
	}
	if cfg.allow == nil || !cfg.allow.allowsAddr(netip.MustParseAddr("127.0.0.1"), true) || cfg.allow.allowsAddr(netip.MustParseAddr("169.254.169.254"), true) {
		t.Error("examples/exporter.yaml: allowed_targets should allow loopback and refuse link-local")
	}
}

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

// TestExporterKeysDocumented checks that docs/EXPORTER.md documents every
// module key (the flags are checked in cmd/pqtls).
func TestExporterKeysDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/EXPORTER.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	n := 0
	for _, f := range doccheck.Fields(Module{}, "yaml") {
		n++
		if !strings.Contains(text, "`"+f.Name+"`") {
			t.Errorf("docs/EXPORTER.md does not document module key %s%s", f.Path, f.Name)
		}
	}
	if n < 11 {
		t.Errorf("only %d module keys found", n)
	}
}
