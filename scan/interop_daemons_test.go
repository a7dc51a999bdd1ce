package scan

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDaemon runs cmd until the test ends and waits for addr to accept.
func startDaemon(t *testing.T, cmd *exec.Cmd, addr string) {
	t.Helper()
	out, _ := os.Create(filepath.Join(t.TempDir(), "daemon.log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			log, _ := os.ReadFile(out.Name())
			t.Fatalf("%s exited: %s", cmd.Path, log)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(out.Name())
	t.Fatalf("%s did not listen on %s: %s", cmd.Path, addr, log)
}

func lookPath(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		if _, err := os.Stat(n); err == nil {
			return n
		}
	}
	missingPeer(t, names[0])
	return ""
}

func scanLocal(t *testing.T, tg Target, cert *testCert) Result {
	t.Helper()
	r, err := ScanOne(context.Background(), tg, Options{Enumerate: true, Timeout: 5 * time.Second, RootCAs: cert.pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s (%s) versions=%v groups=%v tls12=%v conns=%d", tg.Input, r.Verdict, r.Reason, r.Versions, r.GroupNames(), r.TLS12Curves, r.Connections)
	return r
}

func checkClassicalCert(t *testing.T, r Result, exact ...string) {
	t.Helper()
	if r.Verdict != VerdictClassical {
		t.Errorf("verdict %s (%s %s), want classical", r.Verdict, r.Reason, r.Error)
	}
	for _, g := range r.Groups {
		if g.Kind != "classical" {
			t.Errorf("OpenSSL 3.0 cannot do %s", g.Name)
		}
	}
	if exact != nil {
		if !slices.Equal(r.GroupNames(), exact) {
			t.Errorf("groups %v, want exactly %v", r.GroupNames(), exact)
		}
	} else if !slices.Contains(r.GroupNames(), "x25519") || !slices.Contains(r.GroupNames(), "secp256r1") {
		t.Errorf("groups %v lack x25519/secp256r1", r.GroupNames())
	}
	if len(r.Certificates) != 1 || r.Certificates[0].Subject != "CN=scan-test" || !r.ChainVerified {
		t.Errorf("certificate: %+v verified=%v %s", r.Certificates, r.ChainVerified, r.VerifyError)
	}
}

// TestInteropNginx scans nginx built with OpenSSL 3.0 (no ML-KEM): classical.
func TestInteropNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test: needs nginx")
	}
	nginx := lookPath(t, "nginx", "/usr/sbin/nginx")
	cert := newTestCert(t)
	dir := t.TempDir()
	port := freePort(t)
	conf := fmt.Sprintf(`daemon off; pid %[1]s/nginx.pid; error_log %[1]s/error.log; worker_processes 1;
events { worker_connections 256; }
http { access_log off; client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  server { listen 127.0.0.1:%[2]d ssl; ssl_certificate %[3]s; ssl_certificate_key %[4]s; ssl_protocols TLSv1.2 TLSv1.3; location / { return 200 "ok"; } } }
`, dir, port, cert.certFile, cert.keyFile)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	startDaemon(t, exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf")), addr)
	r := scanLocal(t, Target{Input: "nginx", Host: "127.0.0.1", IP: "127.0.0.1", Port: port, ServerName: "localhost"}, cert)
	checkClassicalCert(t, r)
	if !slices.Equal(r.Versions, []string{"TLS 1.3", "TLS 1.2"}) {
		t.Errorf("versions %v, want TLS 1.3 and 1.2 (ssl_protocols)", r.Versions)
	}
}

// TestInteropRedis scans Redis with TLS (implicit TLS, OpenSSL 3.0).
func TestInteropRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test: needs redis-server")
	}
	redis := lookPath(t, "redis-server")
	cert := newTestCert(t)
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	startDaemon(t, exec.Command(redis, "--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--tls-cert-file", cert.certFile, "--tls-key-file", cert.keyFile, "--tls-ca-cert-file", cert.certFile,
		"--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", t.TempDir()), addr)
	r := scanLocal(t, Target{Input: "redis", Host: "127.0.0.1", IP: "127.0.0.1", Port: port, ServerName: "localhost", Protocol: "redis"}, cert)
	checkClassicalCert(t, r)
	if !slices.Contains(r.Versions, "TLS 1.2") {
		t.Errorf("versions %v lack TLS 1.2", r.Versions)
	}
	if r.Priority.Rationale == "" || r.Priority.Score != 48 {
		t.Errorf("redis without tags is a long-lived store: priority %+v, want 100*1*0.8*0.6=48", r.Priority)
	}
}

// TestInteropPostgres scans PostgreSQL with ssl=on through SSLRequest.
func TestInteropPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test: needs PostgreSQL")
	}
	bin := ""
	for _, d := range []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"} {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			bin = d
			break
		}
	}
	if bin == "" {
		missingPeer(t, "PostgreSQL (initdb)")
	}
	cert := newTestCert(t)
	var cred *syscall.Credential
	dir, err := os.MkdirTemp("", "pqtls-scan-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			missingPeer(t, "postgres system user (needed when running as root)")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		os.Chmod(dir, 0o755)
	}
	data := filepath.Join(dir, "data")
	// Certificate files owned by the server user, mode 0600.
	crt, key := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	for src, dst := range map[string]string{cert.certFile: crt, cert.keyFile: key} {
		b, _ := os.ReadFile(src)
		os.WriteFile(dst, b, 0o600)
		if cred != nil {
			os.Chown(dst, int(cred.Uid), int(cred.Gid))
		}
	}
	if cred != nil {
		os.Chown(dir, int(cred.Uid), int(cred.Gid))
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := freePort(t)
	pg := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+dir, "-c", "ssl=on", "-c", "ssl_cert_file="+crt, "-c", "ssl_key_file="+key, "-c", "fsync=off")
	pg.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	startDaemon(t, pg, addr)
	tg := Target{Input: "postgres", Host: "127.0.0.1", IP: "127.0.0.1", Port: port, ServerName: "localhost", StartTLS: ProtoPostgres,
		Tags: map[string]string{"data_lifetime": "10y", "sensitivity": "high"}}
	r := scanLocal(t, tg, cert)
	// PostgreSQL's ssl_ecdh_curve defaults to prime256v1: the only group.
	checkClassicalCert(t, r, "secp256r1")
	if r.StartTLS != ProtoPostgres {
		t.Errorf("starttls %s", r.StartTLS)
	}
	if r.Priority.Level != "critical" || r.Priority.Score != 100 {
		t.Errorf("classical 10y/high database: priority %+v, want critical 100", r.Priority)
	}
	// Without the SSLRequest the server does not speak TLS.
	tg.StartTLS = ProtoNone
	r2, _ := ScanOne(context.Background(), tg, Options{Timeout: 3 * time.Second})
	if r2.Verdict == VerdictClassical || r2.Verdict == VerdictPQReady {
		t.Errorf("direct TLS to PostgreSQL 15 should fail, got %s", r2.Verdict)
	}
}
