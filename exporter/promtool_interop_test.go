package exporter

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/testpeer"
)

const deployDir = "../deploy/prometheus"

// promtool runs promtool (internal/testpeer) and returns its output and a
// non-nil error when it exits non-zero.
func promtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, ok := testpeer.Promtool(t, args...)
	if !ok {
		return out, errors.New("promtool failed")
	}
	return out, nil
}

// TestInteropPromtoolRules checks the rule files and the example
// configuration with promtool, runs the alert unit tests (each alert firing
// and not firing), and checks that a broken expectation makes them fail.
func TestInteropPromtoolRules(t *testing.T) {
	testpeer.Require(t, testpeer.PeerPromtool)
	rules, _ := filepath.Glob(filepath.Join(deployDir, "rules", "*.yml"))
	if len(rules) != 2 {
		t.Fatalf("rule files: %v", rules)
	}
	out, err := promtool(t, append([]string{"check", "rules"}, rules...)...)
	if err != nil || strings.Count(out, "SUCCESS") != 2 {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	out, err = promtool(t, "check", "config", filepath.Join(deployDir, "prometheus.example.yml"))
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	tests, _ := filepath.Glob(filepath.Join(deployDir, "tests", "*.yml"))
	if len(tests) == 0 {
		t.Fatal("no rule tests")
	}
	out, err = promtool(t, append([]string{"test", "rules"}, tests...)...)
	if err != nil || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}

	// Every alert has a firing case and a not-firing case.
	alertsYAML, err := os.ReadFile(filepath.Join(deployDir, "rules", "pqtls-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var testsText strings.Builder
	for _, f := range tests {
		b, _ := os.ReadFile(f)
		testsText.Write(b)
	}
	for _, line := range strings.Split(string(alertsYAML), "\n") {
		name, ok := strings.CutPrefix(strings.TrimSpace(line), "- alert: ")
		if !ok {
			continue
		}
		blocks := strings.Split(testsText.String(), "alertname: "+name+"\n")
		firing, quiet := false, false
		for _, b := range blocks[1:] {
			rest := strings.TrimSpace(b)
			if strings.HasPrefix(rest, "exp_alerts: []") {
				quiet = true
			} else if strings.HasPrefix(rest, "exp_alerts:") {
				firing = true
			}
		}
		if !firing || !quiet {
			t.Errorf("alert %s: firing case %v, not-firing case %v: add the missing one to deploy/prometheus/tests", name, firing, quiet)
		}
	}

	// The unit tests can fail: a wrong expected label makes promtool fail.
	dir := t.TempDir()
	src, _ := os.ReadFile(tests[0])
	abs, _ := filepath.Abs(filepath.Join(deployDir, "rules"))
	mutated := strings.ReplaceAll(string(src), "../rules/", abs+"/")
	mutated = strings.Replace(mutated, `instance: "closed:443"`, `instance: "open:443"`, 1)
	mf := filepath.Join(dir, "mutated.test.yml")
	if err := os.WriteFile(mf, []byte(mutated), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := promtool(t, "test", "rules", mf); err == nil || !strings.Contains(out, "PqtlsProbeFailed") {
		t.Errorf("a wrong expectation did not fail promtool test rules:\n%s", out)
	}
}
