package exporter

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yml string
		line      int
		want      string
	}{
		{"unknown key", "modules:\n  a:\n    timeout: 2s\n    timout: 3s\n", 0, "x.yaml:4: unknown key timout"},
		{"unknown top key", "modulez:\n  a: {}\n", 0, "x.yaml:1: unknown key modulez"},
		{"bad duration", "modules:\n  a:\n    timeout: soon\n", 0, "x.yaml:3: "},
		{"bare number timeout", "modules:\n  a:\n    timeout: 5\n", 3, `module "a": timeout: 5 has no unit: write 5s`},
		{"bare float timeout", "modules:\n  a:\n    enumerate: true\n    timeout: 2.5\n", 4, "write 2.5s"},
		{"negative timeout", "modules:\n  a:\n    timeout: -1s\n", 3, "timeout must be positive"},
		{"bad policy", "modules:\n  a:\n    timeout: 2s\n    policy: sometimes\n", 4, "sometimes"},
		{"groups without policy", "modules:\n  a:\n    groups: [x25519]\n", 3, "groups needs a policy"},
		{"require with classical group", "modules:\n  a:\n    policy: require\n    groups: [X25519MLKEM768, x25519]\n", 0, "x25519"},
		{"unknown group", "modules:\n  a:\n    policy: prefer\n    groups: [x25519mlkem]\n", 0, "x25519mlkem"},
		{"bad starttls", "modules:\n  a:\n    starttls: gopher\n", 3, "gopher"},
		{"missing ca", "modules:\n  a:\n    ca_file: /nonexistent/ca.pem\n", 3, "ca_file"},
		{"cert without key", "modules:\n  a:\n    cert_file: c.pem\n", 3, "cert_file and key_file go together"},
		{"enumerate_groups without enumerate", "modules:\n  a:\n    enumerate_groups: [x25519]\n", 3, "needs 'enumerate: true'"},
		{"empty", "", 0, "empty configuration"},
		{"no modules", "modules: {}\n", 0, "no modules"},
		{"two documents", "modules:\n  a: {}\n---\nmodules:\n  b: {}\n", 0, "more than one YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yml), "x.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *ConfigError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "x.yaml") {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if tc.line != 0 && ce.Line != tc.line {
				t.Errorf("error %q on line %d, want %d", err, ce.Line, tc.line)
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
