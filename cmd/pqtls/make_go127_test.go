package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMakeGo127Stage: `make test` runs the Go 1.27 stage, and that stage
// fails under PQTLS_REQUIRE_PEERS=1 and skips otherwise when the toolchain
// cannot be had (a toolchain that does not exist, with the proxy off).
func TestMakeGo127Stage(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	prereqs := makeTargetPrereqs(t, filepath.Join(root, "Makefile"), "test")
	if !slices.Contains(prereqs, "unit-go127") {
		t.Fatalf("make test prerequisites %v lack unit-go127", prereqs)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	for _, require := range []string{"1", ""} {
		logs := t.TempDir()
		cmd := exec.Command("make", "-s", "-C", root, "unit-go127", "GO127=go1.99.0")
		cmd.Env = append(withoutEnv(os.Environ(), "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "GOTOOLCHAIN", "GOPROXY"),
			"GOPROXY=off", "PQTLS_TEST_LOG_DIR="+logs, "PQTLS_REQUIRE_PEERS="+require)
		out, err := cmd.CombinedOutput()
		log, _ := os.ReadFile(filepath.Join(logs, "unit-go127.log"))
		if require == "1" {
			if err == nil || !strings.Contains(string(out), "unit-go127 FAILED: Go toolchain go1.99.0 unavailable") || !strings.Contains(string(log), "--- FAIL") {
				t.Errorf("PQTLS_REQUIRE_PEERS=1, no toolchain: err %v, output %q, log %q", err, out, log)
			}
		} else if err != nil || !strings.Contains(string(out), "unit-go127 SKIPPED: Go toolchain go1.99.0 unavailable") || !strings.Contains(string(log), "--- SKIP") {
			t.Errorf("no toolchain: err %v, output %q, log %q", err, out, log)
		}
	}
}

func makeTargetPrereqs(t *testing.T, path, target string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), target+":"); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("%s has no %s target", path, target)
	return nil
}

func withoutEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}
