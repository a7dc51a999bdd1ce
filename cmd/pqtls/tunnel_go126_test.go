//go:build !go1.27

package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A Go 1.26 build asked for an ML-DSA auth mode or an ML-DSA certificate
// exits 2 and says what to rebuild with (before the fix, the certificate
// failed with crypto/tls's "failed to parse private key").
func TestTunnelMLDSANeedsGo127(t *testing.T) {
	ml := filepath.Join("..", "..", "testdata", "auth", "mldsa65-server")
	dir := t.TempDir()
	writeTestCerts(t, dir, "ca.pem", "server")
	for name, args := range map[string][]string{
		"auth":        {"tunnel", "client", "--listen", "127.0.0.1:0", "--target", "db:5433", "--auth", "require-pq"},
		"certificate": {"tunnel", "server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:5432", "--cert", ml + ".pem", "--key", ml + "-key.pem", "--check-config"},
		"second certificate": {"tunnel", "server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:5432", "--cert", filepath.Join(dir, "server.pem"), "--key", filepath.Join(dir, "server.key"),
			"--cert", ml + ".pem", "--key", ml + "-key.pem", "--check-config"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "needs pqtls built with Go 1.27 or later") {
			t.Errorf("%s: exit %d, stderr %q; want 2 and \"needs pqtls built with Go 1.27 or later\"", name, code, errOut)
		}
	}
}
