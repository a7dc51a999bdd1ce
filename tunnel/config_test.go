package tunnel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConfig writes a tunnel.yaml into a fresh directory with a server
// certificate next to it and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := newPKI(t)
	p.issue(t, certOpts{cn: "server", name: "server"})
	path := filepath.Join(p.dir, "tunnel.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func checkFile(t *testing.T, path string) ([]string, error) {
	t.Helper()
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	return Check(cfg)
}

// TestCheckConfigRefusesUnstartable: --check-config used to pass configs
// that cannot start (issue 11 item 8). Each is refused with file:line of the
// offending key.
func TestCheckConfigRefusesUnstartable(t *testing.T) {
	head := "listeners:\n  - name: a\n    mode: server\n    cert: server.pem\n    key: server.key\n    target: 127.0.0.1:5432\n"
	for _, c := range []struct{ name, listen, want string }{
		{"port too large", "127.0.0.1:99999", `:7: listener a: listen: 127.0.0.1:99999: port "99999" must be a number from 0 to 65535`},
		{"negative port", "127.0.0.1:-1", `:7: listener a: listen: 127.0.0.1:-1: port "-1"`},
		{"named port", "127.0.0.1:abc", `:7: listener a: listen: 127.0.0.1:abc: port "abc"`},
		{"unix socket in a missing directory", "unix:/nonexistent-pqtls/dir/t.sock", `:7: listener a: listen: unix:/nonexistent-pqtls/dir/t.sock: directory /nonexistent-pqtls/dir does not exist`},
	} {
		path := writeConfig(t, head+"    listen: "+c.listen+"\n")
		_, err := checkFile(t, path)
		if err == nil || !strings.Contains(err.Error(), path+c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, path+c.want)
		}
	}
	// A target port out of range is refused the same way.
	path := writeConfig(t, "listeners:\n  - mode: server\n    cert: server.pem\n    key: server.key\n    listen: 127.0.0.1:0\n    target: 127.0.0.1:0\n")
	if _, err := checkFile(t, path); err == nil || !strings.Contains(err.Error(), path+`:6: listener server-0: target: 127.0.0.1:0: port "0" must be a number from 1 to 65535`) {
		t.Errorf("target port 0: %v", err)
	}
}

// TestCheckConfigDuplicateListen: two listeners on one address (or one on
// a wildcard host and one on a specific host, same port) cannot both bind.
func TestCheckConfigDuplicateListen(t *testing.T) {
	l := func(name, listen string) string {
		return "  - name: " + name + "\n    mode: server\n    cert: server.pem\n    key: server.key\n    target: 127.0.0.1:5432\n    listen: " + listen + "\n"
	}
	for _, c := range []struct {
		a, b string
		dup  bool
	}{
		{"127.0.0.1:7443", "127.0.0.1:7443", true},
		{":7443", "127.0.0.1:7443", true},
		{"0.0.0.0:7443", "127.0.0.1:7443", true},
		{"'[::]:7443'", "127.0.0.1:7443", true},
		{"0.0.0.0:7443", "'[::1]:7443'", false},
		{"127.0.0.1:7443", "127.0.0.2:7443", false},
		{"127.0.0.1:0", "127.0.0.1:0", false},
	} {
		path := writeConfig(t, "listeners:\n"+l("one", c.a)+l("two", c.b))
		_, err := checkFile(t, path)
		if c.dup != (err != nil) {
			t.Errorf("%s + %s: err = %v, want duplicate=%v", c.a, c.b, err, c.dup)
			continue
		}
		if c.dup && !strings.Contains(err.Error(), path+":13: listener two: listen "+strings.Trim(c.b, "'")+": listener one already listens there") {
			t.Errorf("%s + %s: %v", c.a, c.b, err)
		}
	}
	dir := t.TempDir()
	sock := "unix:" + filepath.Join(dir, "a.sock")
	if _, err := checkFile(t, writeConfig(t, "listeners:\n"+l("one", sock)+l("two", sock))); err == nil {
		t.Error("two listeners on one unix socket accepted")
	}
}

// TestCheckConfigEveryListenerAndPaths: every listener's error is reported
// (not only the first), each on its own line with its position and the one
// listener naming; relative paths resolve against the config file's
// directory; a listener with an error gets no unrelated warning.
func TestCheckConfigEveryListenerAndPaths(t *testing.T) {
	path := writeConfig(t, `listeners:
  - name: good
    mode: server
    cert: server.pem
    key: server.key
    listen: 127.0.0.1:0
    target: 127.0.0.1:5432
  - name: nokey
    mode: server
    cert: server.pem
    key: missing.key
    listen: 127.0.0.1:0
    target: 127.0.0.1:5432
  - name: badport
    mode: server
    cert: server.pem
    key: server.key
    listen: 127.0.0.1:70000
    target: 127.0.0.1:5432
`)
	t.Chdir(t.TempDir()) // relative paths must not depend on the working directory
	warnings, err := checkFile(t, path)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], path+":10: listener nokey: load certificate ") || !strings.Contains(lines[0], filepath.Join(filepath.Dir(path), "missing.key")) ||
		!strings.HasPrefix(lines[1], path+":18: listener badport: listen: ") {
		t.Errorf("errors:\n%s", err)
	}
	for _, w := range warnings {
		if !strings.HasPrefix(w, "listener good: ") {
			t.Errorf("warning for a listener with an error: %s", w)
		}
	}
	if len(warnings) == 0 {
		t.Error("the valid listener's no-client-CA warning is missing")
	}
}

// TestParseConfigTypos: one line per typo, right line number, the valid
// keys, no Go type names.
func TestParseConfigTypos(t *testing.T) {
	_, err := ParseConfig([]byte("listeners:\n  - name: a\n    mode: server\n    listen: 127.0.0.1:0\n    target: 127.0.0.1:1\n    cert: c\n    servce: x\n    max_connections: lots\n"), "tunnel.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{`tunnel.yaml:7: unknown field "servce" (valid: allow, allow_remote_listen, `, `tunnel.yaml:8: max_connections: "lots" is not a whole number`}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("errors:\n%s", err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %q, want prefix %q", lines[i], w)
		}
	}
	if strings.Contains(err.Error(), "tunnel.") && !strings.Contains(err.Error(), "tunnel.yaml") || strings.Contains(err.Error(), "ListenerConfig") || strings.Contains(err.Error(), "!!") {
		t.Errorf("Go or YAML type names in %q", err)
	}
}

// extra_certs: relative paths resolve against the config file, every entry
// needs both files, and the key is server-mode only; auth goes through the
// one parser, with its error on the auth key's line.
func TestExtraCertsAndAuthConfig(t *testing.T) {
	head := "listeners:\n  - name: a\n    listen: 127.0.0.1:0\n    target: 127.0.0.1:5432\n"
	path := writeConfig(t, head+"    mode: server\n    cert: server.pem\n    key: server.key\n    extra_certs:\n      - cert: server.pem\n        key: server.key\n")
	if _, err := checkFile(t, path); err != nil {
		t.Fatalf("two certificates from relative paths: %v", err)
	}
	for _, c := range []struct{ name, yaml, want string }{
		{"entry without key", "    mode: server\n    cert: server.pem\n    key: server.key\n    extra_certs:\n      - cert: server.pem\n", ":8: listener a: extra_certs: every entry needs cert and key"},
		{"client mode", "    mode: client\n    cert: server.pem\n    key: server.key\n    extra_certs:\n      - cert: server.pem\n        key: server.key\n", ":8: listener a: extra_certs (a repeated --cert/--key) applies to server mode"},
		{"missing file", "    mode: server\n    cert: server.pem\n    key: server.key\n    extra_certs:\n      - cert: nope.pem\n        key: server.key\n", "nope.pem"},
		{"unknown auth", "    mode: server\n    cert: server.pem\n    key: server.key\n    auth: PQ\n", `:8: listener a: auth: unknown authentication mode "PQ": use any (default), prefer-pq, require-pq or cnsa2`},
	} {
		path := writeConfig(t, head+c.yaml)
		if _, err := checkFile(t, path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
