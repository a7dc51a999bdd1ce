package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/testpki"
)

// --ca, --cert and --key load through internal/certload in every command
// that has them; a bad file is a one-line usage error (exit 2) naming the
// flag, found before any network step.
func TestTLSFlagErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := testpki.NewCA(t)
	f := ca.Server(t, testpki.CertOptions{}).WriteFiles(t, dir)
	other := ca.Server(t, testpki.CertOptions{}).WriteFiles(t, filepath.Join(dir, "other"))
	target := "127.0.0.1:1"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"scan", "--ca", notPEM, target}, "--ca: CA bundle " + notPEM + ": no PEM certificate found"},
		{[]string{"canary", "--ca", notPEM, target}, "--ca: CA bundle " + notPEM + ": no PEM certificate found"},
		{[]string{"bench", "--ca", notPEM, target}, "--ca: CA bundle " + notPEM + ": no PEM certificate found"},
		{[]string{"scan", "--ca", filepath.Join(dir, "missing.pem"), target}, "--ca: read CA bundle:"},
		{[]string{"scan", "--cert", f.Cert, target}, "--cert and --key go together"},
		{[]string{"bench", "--key", f.Key, target}, "--cert and --key go together"},
		{[]string{"scan", "--cert", f.Cert, "--key", other.Key, target}, "--cert/--key: "},
		{[]string{"bench", "echo-server", "--listen", "127.0.0.1:0", "--cert", f.Cert, "--key", other.Key}, "--cert/--key: "},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("pqtls %s: exit %d, stderr %q; want exit %d and one line with %q", strings.Join(c.args, " "), code, errOut, exitUsage, c.want)
		}
	}
}
