package main

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/bench"
)

// serverCertFiles writes a CA (ca.pem) and a server pair (server.pem,
// server.key) into a new temporary folder with writeTestCerts, and returns
// the folder and the loaded pair.
func serverCertFiles(t *testing.T) (string, tls.Certificate) {
	t.Helper()
	dir := t.TempDir()
	writeTestCerts(t, dir, "ca.pem", "server")
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, cert
}

// TestBenchPositionalTarget: 'pqtls bench TARGET' as the README shows it;
// --target keeps working; a target without a port is a usage error.
func TestBenchPositionalTarget(t *testing.T) {
	dir, cert := serverCertFiles(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := bench.NewEchoServer(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	t.Cleanup(func() { srv.Close() })
	addr, ca := ln.Addr().String(), filepath.Join(dir, "ca.pem")
	for _, args := range [][]string{{"bench", addr}, {"bench", "--target", addr}, {"bench", addr, "--target", addr}} {
		code, out, errOut := runCLI(t, append(args, "--ca", ca, "--count", "3", "--duration", "30s")...)
		if code != exitOK || !strings.Contains(out, "operations") || !strings.Contains(out, "3 (") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	for _, args := range [][]string{
		{"bench", "127.0.0.1"},
		{"bench", "--target", "db.internal"},
		{"bench", "127.0.0.1:0"},
		{"bench", addr, "127.0.0.1:1"},
		{"bench", addr, "--target", "127.0.0.1:1"},
		{"bench"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != exitUsage || !strings.HasPrefix(errOut, "pqtls: ") {
			t.Errorf("%v: exit %d, %q; want a usage error", args, code, errOut)
		}
	}
}

// TestBenchReadyFile: --ready-file goes through internal/outfile: an
// unwritable path is a usage error before any work, and the file holds the
// number of open idle connections once they are open.
func TestBenchReadyFile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := bench.NewEchoServer(ln, nil)
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	code, _, errOut := runCLI(t, "bench", ln.Addr().String(), "--plain", "--mode", "idle", "--ready-file", filepath.Join(dir, "missing", "ready"))
	if code != exitUsage || !strings.Contains(errOut, "--ready-file") {
		t.Fatalf("unwritable --ready-file: exit %d %q", code, errOut)
	}
	ready := filepath.Join(dir, "ready")
	code, _, errOut = runCLI(t, "bench", ln.Addr().String(), "--plain", "--mode", "idle", "-c", "3", "--duration", "300ms", "--ready-file", ready)
	b, err := os.ReadFile(ready)
	if code != exitOK || err != nil || string(b) != "3\n" {
		t.Fatalf("exit %d %q, ready file %q %v", code, errOut, b, err)
	}
}
