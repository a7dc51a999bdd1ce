package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
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

// 'pqtls bench echo-server' serves its --cert/--key through a reloadable
// certload.KeyPair: a pair renamed over the files is served without a
// restart, and a broken file keeps the pair in use.
func TestBenchEchoServerReloadsCert(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t)
	first := ca.Server(t, testpki.CertOptions{})
	f := first.WriteFiles(t, dir)
	sock := filepath.Join(dir, "echo.sock")
	stderr := &testpeer.Buffer{}
	cmd := newBenchEchoCmd(streams{in: strings.NewReader(""), out: io.Discard, errOut: stderr})
	cmd.SetArgs([]string{"--listen", "unix:" + sock, "--cert", f.Cert, "--key", f.Key})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	serial := func() string {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "unix", sock, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
		if err != nil {
			return "dial: " + err.Error()
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	waitFor := func(what, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for got := serial(); got != want; got = serial() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: serving %s, want %s\n%s", what, got, want, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("start", first.Leaf.SerialNumber.String())
	second := ca.Server(t, testpki.CertOptions{})
	second.WriteFiles(t, dir) // devpki.WriteFiles replaces each file by rename
	waitFor("after rotation", second.Leaf.SerialNumber.String())
	if err := os.WriteFile(f.Cert+".tmp", []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.Cert+".tmp", f.Cert); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "certificate reload failed; keeping the previous material") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload failure logged:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := serial(); got != second.Leaf.SerialNumber.String() {
		t.Fatalf("after a broken certificate file: serving %s, want the previous %s", got, second.Leaf.SerialNumber)
	}
}
