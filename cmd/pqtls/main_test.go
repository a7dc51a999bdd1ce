package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runCLI runs the pqtls entry point and returns exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"bogus"},
		{"groups", "--format", "xml"},
		{"groups", "--nope"},
		{"certs", "dev"},
		{"demo", "--handshakes", "0"},
		{"certs", "bogus"},
		{"certs", "dev", "--out", filepath.Join(t.TempDir(), "pki"), "--host", ""},
		{"certs", "dev", "--out", filepath.Join(t.TempDir(), "pki"), "--host", "db.internal,"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
		if !strings.HasPrefix(stderr, "pqtls: ") || len(stderr) < 20 {
			t.Errorf("%v: unhelpful error %q", args, stderr)
		}
	}
}

func TestGroupsJSON(t *testing.T) {
	code, out, _ := runCLI(t, "groups", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Schema string `json:"schema"`
		Groups []struct {
			Codepoint string `json:"codepoint"`
			Name      string `json:"name"`
			Kind      string `json:"kind"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != groupsJSONSchema || len(doc.Groups) < 19 {
		t.Fatalf("schema %q, %d groups", doc.Schema, len(doc.Groups))
	}
	found := false
	for _, g := range doc.Groups {
		if g.Codepoint == "0x11EC" && g.Name == "X25519MLKEM768" && g.Kind == "hybrid" {
			found = true
		}
	}
	if !found {
		t.Error("X25519MLKEM768 missing from groups JSON")
	}
	code, out, _ = runCLI(t, "groups")
	if code != 0 || !strings.Contains(out, "0x6399") || !strings.Contains(out, "draft") {
		t.Errorf("table output: exit %d\n%s", code, out)
	}
}

func TestCertsDev(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	code, out, stderr := runCLI(t, "certs", "dev", "--out", dir, "--host", "db.internal,127.0.0.1", "--client-uri", "spiffe://example.org/billing")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "wrote") {
		t.Errorf("stdout %q", out)
	}
	for name, mode := range map[string]os.FileMode{"ca.pem": 0o644, "ca-key.pem": 0o600, "server.pem": 0o644, "server-key.pem": 0o600, "client.pem": 0o644, "client-key.pem": 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	server, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	leaf, _ := x509.ParseCertificate(server.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "db.internal"}); err != nil {
		t.Errorf("server cert does not verify for db.internal: %v", err)
	}
	client, _ := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"))
	cleaf, _ := x509.ParseCertificate(client.Certificate[0])
	if len(cleaf.URIs) != 1 || cleaf.URIs[0].String() != "spiffe://example.org/billing" {
		t.Errorf("client URIs %v", cleaf.URIs)
	}

	// A second run refuses to overwrite and changes nothing.
	before, _ := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	code, _, stderr = runCLI(t, "certs", "dev", "--out", dir)
	if code != exitFailure || !strings.Contains(stderr, "--force") {
		t.Fatalf("overwrite without --force: exit %d, %q", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	if !bytes.Equal(before, after) {
		t.Fatal("ca-key.pem changed without --force")
	}
	if code, _, stderr = runCLI(t, "certs", "dev", "--out", dir, "--force"); code != 0 {
		t.Fatalf("--force: exit %d %s", code, stderr)
	}
	if code, _, stderr = runCLI(t, "certs", "dev", "--out", t.TempDir(), "--client-uri", "not a uri"); code != exitUsage {
		t.Fatalf("bad URI: exit %d %s", code, stderr)
	}
}

func TestDemoCommand(t *testing.T) {
	code, out, stderr := runCLI(t, "demo")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"X25519MLKEM768 hybrid", "ClientHello", "refused classical-only client", "tls_handshake_group_total"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "pqtls ") || !strings.Contains(out, "go1.") {
		t.Fatalf("exit %d %q", code, out)
	}
}

// TestVersionFlag: 'pqtls --version' prints what 'pqtls version' prints.
func TestVersionFlag(t *testing.T) {
	code, want, _ := runCLI(t, "version")
	for _, flag := range []string{"--version", "-v"} {
		got, out, stderr := runCLI(t, flag)
		if got != 0 || out != want {
			t.Errorf("pqtls %s: exit %d, %q (stderr %q); want %q", flag, got, out, stderr, want)
		}
	}
	if code != 0 {
		t.Fatalf("version: exit %d", code)
	}
}

// TestGroupsAliases: the table shows the aliases the README promises.
func TestGroupsAliases(t *testing.T) {
	code, out, _ := runCLI(t, "groups")
	lines := strings.Split(out, "\n")
	if code != 0 || !strings.Contains(lines[0], "ALIASES") {
		t.Fatalf("exit %d, header %q", code, lines[0])
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "0x0017 ") && !strings.Contains(l, "P-256,P256,prime256v1,CurveP256") {
			t.Errorf("secp256r1 row lacks its aliases: %q", l)
		}
	}
}

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
