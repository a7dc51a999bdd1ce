package tunnel

import (
	"strings"
	"testing"
)

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
