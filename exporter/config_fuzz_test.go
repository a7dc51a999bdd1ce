package exporter

import (
	"errors"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParseConfig feeds arbitrary YAML to the configuration parser: no
// panic, every error a *ConfigError, every accepted configuration complete
// (modules, a positive timeout and probe cap, parsed STARTTLS). Seeds:
// testdata/fuzz/FuzzParseConfig. Inputs naming a file key are skipped: the
// fuzzer must not read arbitrary paths (/dev/zero).
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("modules:\n  default:\n    timeout: 5s\n"))
	f.Add([]byte("allowed_targets: [10.0.0.0/8, '*.internal.example', ::1]\nmax_concurrent_probes: 8\nmodules:\n  a:\n    starttls: smtp\n    allowed_targets: [mail*.internal.example]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if namesFile(data) {
			t.Skip()
		}
		cfg, err := ParseConfig(data, "fuzz.yaml")
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *ConfigError", err, err)
			}
			return
		}
		if len(cfg.Modules) == 0 || cfg.MaxConcurrentProbes <= 0 {
			t.Fatalf("accepted config without modules or probe cap: %+v", cfg)
		}
		for name, m := range cfg.Modules {
			if m == nil || m.Timeout <= 0 {
				t.Fatalf("module %q accepted with timeout %v", name, m.Timeout)
			}
			if (m.StartTLS == "") != (m.proto == "") {
				t.Fatalf("module %q: starttls %q parsed as %q", name, m.StartTLS, m.proto)
			}
			if m.AllowedTargets != nil && m.allow == nil {
				t.Fatalf("module %q: allowed_targets %q not parsed", name, m.AllowedTargets)
			}
		}
		if cfg.AllowedTargets != nil && cfg.allow == nil {
			t.Fatalf("allowed_targets %q not parsed", cfg.AllowedTargets)
		}
	})
}

// namesFile reports whether any scalar of data (keys and values, aliases
// included) names a key that makes the parser read a file.
func namesFile(data []byte) bool {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return false
	}
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n == nil || seen[n] {
			return false
		}
		seen[n] = true
		switch n.Value {
		case "ca_file", "cert_file", "key_file":
			return true
		}
		if walk(n.Alias) {
			return true
		}
		for _, c := range n.Content {
			if walk(c) {
				return true
			}
		}
		return false
	}
	return walk(&root)
}
