package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pqtls/pqtls/bench"
	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// writeTestCerts writes the certificate of a new CA as caName plus
// name.pem/name.key leaves signed by it into dir, and returns a pool
// trusting the CA. Each leaf is good for serverAuth and clientAuth, for
// localhost, 127.0.0.1 and spiffe://example.org/ns/billing/sa/<name>.
func writeTestCerts(t *testing.T, dir string, caName string, leaves ...string) *x509.CertPool {
	t.Helper()
	ca := testpki.NewCA(t)
	files := []devpki.File{{Name: caName, Data: ca.CertPEM, Mode: 0o644}}
	for _, name := range leaves {
		c, err := ca.Issue(testpki.CertOptions{CommonName: name, DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
			URIs: []string{"spiffe://example.org/ns/billing/sa/" + name}})
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, devpki.File{Name: name + ".pem", Data: c.CertPEM, Mode: 0o644}, devpki.File{Name: name + ".key", Data: c.KeyPEM, Mode: 0o600})
	}
	if err := devpki.WriteFiles(dir, files, true); err != nil {
		t.Fatal(err)
	}
	return ca.Pool()
}

// TestTunnelExampleConfigChecks runs exactly the documented command,
// 'pqtls tunnel --config examples/tunnel/tunnel.yaml --check-config', with the
// real binary from the repository root, as on a fresh clone: it uses the
// dev-only material shipped next to the config (relative paths).
func TestTunnelExampleConfigChecks(t *testing.T) {
	bin := buildPQTLS(t, t.TempDir())
	cmd := exec.Command(bin, "tunnel", "--config", "examples/tunnel/tunnel.yaml", "--check-config")
	cmd.Dir = "../.."
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.Contains(stdout.String(), "config OK: 2 listener(s)") {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
}

// copyExample copies examples/tunnel into a temp dir and returns the path of
// its tunnel.yaml.
func copyExample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/tunnel")); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "tunnel.yaml")
}

// TestTunnelCheckConfigEveryListener: a missing file stays exit 2, every
// failing listener gets its own line with file:line and the one listener
// naming, and a listener with an error gets no unrelated warning.
func TestTunnelCheckConfigEveryListener(t *testing.T) {
	cfg := copyExample(t)
	dir := filepath.Dir(cfg)
	_ = os.Remove(filepath.Join(dir, "dev", "server-key.pem"))
	_ = os.Remove(filepath.Join(dir, "dev", "client-key.pem"))
	code, _, errOut := runCLI(t, "tunnel", "--config", cfg, "--check-config")
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != exitUsage || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "pqtls: "+cfg+":") || !strings.Contains(lines[0], "listener postgres-in: load certificate") || !strings.Contains(lines[0], "server-key.pem") ||
		!strings.HasPrefix(lines[1], "pqtls: "+cfg+":") || !strings.Contains(lines[1], "listener reports-db-out: load certificate") || !strings.Contains(lines[1], "client-key.pem") {
		t.Fatalf("exit %d, want 2 with one line per listener:\n%s", code, errOut)
	}
	// A key that does not match its certificate, on a listener without a
	// client CA: the error alone, no "no client CA" warning before it.
	y := "listeners:\n  - name: web\n    mode: server\n    listen: 127.0.0.1:0\n    target: 127.0.0.1:8080\n    cert: dev/server.pem\n    key: dev/client-key.pem\n"
	mismatch := filepath.Join(dir, "mismatch.yaml")
	if err := os.WriteFile(mismatch, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "dev", "client-key.pem"), nil, 0o600)
	writeTestCerts(t, filepath.Join(dir, "dev"), "other-ca.pem", "client-key")
	_ = os.Rename(filepath.Join(dir, "dev", "client-key.key"), filepath.Join(dir, "dev", "client-key.pem"))
	code, _, errOut = runCLI(t, "tunnel", "--config", mismatch, "--check-config")
	if code != exitUsage || strings.Contains(errOut, "no client CA") || !strings.Contains(errOut, mismatch+":6: listener web: load certificate") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("key mismatch: exit %d\n%s", code, errOut)
	}
}

func TestTunnelBadInput(t *testing.T) {
	dir := t.TempDir()
	writeTestCerts(t, dir, "ca.pem", "server")
	cases := []struct {
		name   string
		args   []string
		yaml   string
		want   []string
		status int
	}{
		{name: "missing cert file", args: []string{"tunnel", "server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:5432", "--cert", filepath.Join(dir, "nope.pem"), "--key", filepath.Join(dir, "nope.key")},
			want: []string{"nope.pem", "check the paths"}, status: exitUsage},
		{name: "unknown key", yaml: "listeners:\n  - mode: server\n    listen: 127.0.0.1:0\n    targte: 127.0.0.1:5432\n",
			want: []string{"t.yaml:4: unknown field \"targte\" (valid: "}, status: exitUsage},
		{name: "not yaml", yaml: "listeners: [\n  - {mode: server\n", want: []string{"t.yaml:"}, status: exitUsage},
		{name: "remote target", args: []string{"tunnel", "server", "--listen", "127.0.0.1:0", "--target", "10.1.2.3:5432", "--cert", filepath.Join(dir, "server.pem"), "--key", filepath.Join(dir, "server.key")},
			want: []string{"allow-remote-target"}, status: exitUsage},
		{name: "no mode", args: []string{"tunnel"}, want: []string{"--config"}, status: exitUsage},
		{name: "workload API with files", args: []string{"tunnel", "server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:5432", "--use-workload-api", "--workload-api-addr", "unix:///run/spire/agent.sock", "--cert", filepath.Join(dir, "server.pem"), "--key", filepath.Join(dir, "server.key")},
			want: []string{"use_workload_api", "--cert, --key, --client-ca, --ca"}, status: exitUsage},
		{name: "workload API client without verify", args: []string{"tunnel", "client", "--listen", "127.0.0.1:0", "--target", "db:5433", "--use-workload-api", "--workload-api-addr", "unix:///run/spire/agent.sock"},
			want: []string{"--verify-uri"}, status: exitUsage},
		{name: "bad policy", args: []string{"tunnel", "client", "--listen", "127.0.0.1:0", "--target", "db:5433", "--policy", "strict"}, want: []string{"prefer", "require"}, status: exitUsage},
		{name: "bad auth", yaml: "listeners:\n  - mode: client\n    listen: 127.0.0.1:0\n    target: db:1\n    auth: pq-only\n",
			want: []string{"t.yaml:5: listener client-0: auth: unknown authentication mode \"pq-only\": use any (default), prefer-pq, require-pq or cnsa2"}, status: exitUsage},
		{name: "unpaired cert", args: []string{"tunnel", "server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:5432", "--cert", filepath.Join(dir, "server.pem"), "--key", filepath.Join(dir, "server.key"), "--cert", filepath.Join(dir, "server.pem")},
			want: []string{"--cert and --key go in pairs: got 2 --cert and 1 --key"}, status: exitUsage},
		{name: "duration", yaml: "listeners:\n  - mode: client\n    listen: 127.0.0.1:0\n    target: db:1\n    idle_timeout: forever\n", want: []string{"t.yaml:5: idle_timeout: \"forever\" is not a duration"}, status: exitUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.yaml != "" {
				p := filepath.Join(t.TempDir(), "t.yaml")
				_ = os.WriteFile(p, []byte(c.yaml), 0o644)
				args = []string{"tunnel", "--config", p}
			}
			code, _, errOut := runCLI(t, args...)
			if code != c.status {
				t.Fatalf("exit %d, want %d; stderr %q", code, c.status, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not mention %q", errOut, w)
				}
			}
		})
	}
}

// TestTunnelSIGTERMDrains runs the real binary: SIGHUP reloads; a transfer in flight when
// SIGTERM arrives completes with every byte, new connections are refused,
// and the process exits 0.
func TestTunnelSIGTERMDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short")
	}
	cmd, stderr, c := startTunnelProcess(t, "20s")
	deadline := time.Now().Add(20 * time.Second)
	// SIGHUP reloads the certificates; the process keeps serving.
	_ = cmd.Process.Signal(syscall.SIGHUP)
	for !strings.Contains(stderr.String(), "tunnel reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	payload := bytes.Repeat([]byte("pqtls-drain-"), 200000) // 2.4 MB
	writeErr := make(chan error, 1)
	go func() {
		for i := 0; i < 10; i++ {
			chunk := payload[i*len(payload)/10 : (i+1)*len(payload)/10]
			if _, err := c.Write(chunk); err != nil {
				writeErr <- err
				return
			}
			if i == 2 {
				_ = cmd.Process.Signal(syscall.SIGTERM)
			}
			time.Sleep(100 * time.Millisecond)
		}
		writeErr <- c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read during drain: %v", err)
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("got %d bytes back, want %d identical", len(got), len(payload))
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tunnel exit: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "draining") {
		t.Errorf("no drain log line:\n%s", stderr.String())
	}
	if _, err := net.DialTimeout("tcp", c.RemoteAddr().String(), time.Second); err == nil {
		t.Fatal("tunnel still accepting after exit")
	}
}

func TestBenchJSON(t *testing.T) {
	ca := testpki.NewCA(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := bench.NewEchoServer(ln, ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false))
	defer srv.Close()
	code, out, errOut := runCLI(t, "bench", "--target", ln.Addr().String(), "--ca", ca.WriteCertFile(t, t.TempDir()), "--mode", "rr", "-c", "2", "--count", "20", "--duration", "30s", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res bench.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bad JSON %v:\n%s", err, out)
	}
	if res.Schema != "pqtls.bench/v1" || res.Operations < 20 || res.Groups["X25519MLKEM768"] != 2 || res.Errors != 0 {
		t.Fatalf("unexpected result %+v", res)
	}
	code, _, errOut = runCLI(t, "bench", "--target", ln.Addr().String(), "--mode", "warp")
	if code != exitUsage || !strings.Contains(errOut, "handshake, rr, throughput or idle") {
		t.Fatalf("bad mode: exit %d %q", code, errOut)
	}
	// Untrusted certificate: runtime failure, exit 1, reason named.
	code, out, _ = runCLI(t, "bench", "--target", ln.Addr().String(), "--count", "2", "--duration", "5s")
	if code != exitFailure || !strings.Contains(out, "unknown_ca") {
		t.Fatalf("untrusted target: exit %d\n%s", code, out)
	}
}

// TestTunnelKubernetesExampleConfigChecks extracts the tunnel config from the
// Kubernetes sidecar example's ConfigMap and checks it.
func TestTunnelKubernetesExampleConfigChecks(t *testing.T) {
	src, err := os.ReadFile("../../deploy/kubernetes/tunnel-sidecar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var cfgText string
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("manifest is not valid YAML: %v", err)
		}
		if doc.Kind == "ConfigMap" {
			cfgText = doc.Data["tunnel.yaml"]
		}
	}
	if cfgText == "" {
		t.Fatal("no ConfigMap with tunnel.yaml in the manifest")
	}
	dir := t.TempDir()
	_ = os.Mkdir(filepath.Join(dir, "tls"), 0o755)
	writeTestCerts(t, filepath.Join(dir, "tls"), "clients-ca.pem", "server")
	p := filepath.Join(dir, "tunnel.yaml")
	_ = os.WriteFile(p, []byte(strings.ReplaceAll(cfgText, "/etc/pqtls/", dir+"/")), 0o644)
	if code, out, errOut := runCLI(t, "tunnel", "--config", p, "--check-config"); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

// TestTunnelSecondSignalCutsDrain runs the real binary: with a long drain
// timeout and an idle connection open, SIGTERM starts the drain and a
// second SIGTERM closes what is left; the process exits 0 well before the
// drain timeout.
func TestTunnelSecondSignalCutsDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short")
	}
	cmd, stderr, c := startTunnelProcess(t, "10m")
	deadline := time.Now().Add(20 * time.Second)
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for !strings.Contains(stderr.String(), "draining") {
		if time.Now().After(deadline) {
			t.Fatalf("no drain after SIGTERM:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection not closed after the second signal: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tunnel exit: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "second signal") {
		t.Errorf("no log line for the second signal:\n%s", stderr.String())
	}
}

// startTunnelProcess builds the pqtls binary and runs 'pqtls tunnel server'
// in front of an echo server with the given drain timeout, and returns the
// process, its stderr and one TLS client connection through it. Cleanup
// kills the process and closes the connection.
func startTunnelProcess(t *testing.T, drainTimeout string) (*exec.Cmd, *testpeer.Buffer, *tls.Conn) {
	t.Helper()
	p := runTunnelProcess(t, "", "--drain-timeout", drainTimeout)
	return p.cmd, p.stderr, p.dial(t)
}

// tunnelProcess is a 'pqtls tunnel server' process in front of an echo
// server.
type tunnelProcess struct {
	cmd    *exec.Cmd
	stderr *testpeer.Buffer
	addr   string
	cfg    *tls.Config
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildPQTLS builds the pqtls binary into dir.
func buildPQTLS(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "pqtls")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runTunnelProcess starts the real binary; shellPrefix (e.g. "ulimit -n
// 200;") runs in the shell that execs it.
func runTunnelProcess(t *testing.T, shellPrefix string, extra ...string) *tunnelProcess {
	t.Helper()
	dir := t.TempDir()
	pool := writeTestCerts(t, dir, "ca.pem", "server")
	bin := buildPQTLS(t, dir)
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echo := bench.NewEchoServer(pln, nil)
	t.Cleanup(func() { echo.Close() })
	addr := freeAddr(t)
	args := append([]string{bin, "tunnel", "server", "--listen", addr, "--target", pln.Addr().String(),
		"--cert", filepath.Join(dir, "server.pem"), "--key", filepath.Join(dir, "server.key")}, extra...)
	cmd := exec.Command(args[0], args[1:]...)
	if shellPrefix != "" {
		cmd = exec.Command("/bin/sh", append([]string{"-c", shellPrefix + ` exec "$@"`, "sh"}, args...)...)
	}
	p := &tunnelProcess{cmd: cmd, stderr: &testpeer.Buffer{}, addr: addr, cfg: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return p
}

// dial waits for the tunnel to accept a TLS connection (60 s at most: the
// machine may be loaded).
func (p *tunnelProcess) dial(t *testing.T) *tls.Conn {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", p.addr, p.cfg)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("tunnel never came up: %v\n%s", err, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
