package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/pqtls/pqtls/internal/testpeer"
)

func TestExporterCheckConfig(t *testing.T) {
	code, out, stderr := runCLI(t, "exporter", "--config", "../../examples/exporter.yaml", "--check-config")
	if code != 0 || !strings.Contains(out, "OK, 5 module(s): default, enumerate, internal, postgres, require_hybrid") {
		t.Fatalf("exit %d, out %q, stderr %q", code, out, stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("modules:\n  a:\n    timeout: 2s\n    enumerat: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"exporter", "--config", bad, "--check-config"}, ".yaml:4: unknown key enumerat"},
		{[]string{"exporter", "--check-config"}, "--config is required"},
		{[]string{"exporter", "--config", "/nonexistent.yaml"}, "check the --config path"},
		{[]string{"exporter", "--config", "../../examples/exporter.yaml", "--log-level", "loud"}, "--log-level"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d stderr %q, want exit 2 with %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestExporterServeAndSIGHUP runs the exporter command, probes a closed port
// through it, then reloads on SIGHUP: a bad file keeps the old modules, a good
// one brings new ones.
func TestExporterServeAndSIGHUP(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "exporter.yaml")
	if err := os.WriteFile(file, []byte("modules:\n  default:\n    timeout: 2s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, stderr, stop := startExporter(t, file, "--listen", "127.0.0.1:0", "--log-level", "debug")
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/probe?target=127.0.0.1:1&module=default")
	if code != 200 || !strings.Contains(body, "probe_success 0") || !strings.Contains(body, `reason="connection_refused"`) {
		t.Fatalf("probe: %d %s", code, body)
	}
	waitMetric := func(want string) string {
		t.Helper()
		var body string
		for i := 0; i < 100; i++ {
			_, body = get("/metrics")
			if strings.Contains("\n"+body, want) {
				return body
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("/metrics never showed %q:\n%s", want, body)
		return ""
	}
	waitMetric(`pqtls_exporter_probes_total{module="default",result="failure"} 1`)
	waitMetric(`pqtls_exporter_build_info{goversion=`)

	// reload rewrites the config file and sends SIGHUP.
	reload := func(config string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	reload("modules:\n  default:\n    timeout: nope\n")
	waitMetric("\npqtls_exporter_config_last_reload_successful 0\n")
	if code, _ := get("/probe?target=127.0.0.1:1&module=default"); code != 200 {
		t.Errorf("after a bad reload the old module is gone: HTTP %d", code)
	}
	reload("modules:\n  default:\n    timeout: 2s\n  second:\n    timeout: 1s\n")
	waitMetric("\npqtls_exporter_config_last_reload_successful 1\n")
	if code, body := get("/probe?target=127.0.0.1:1&module=second"); code != 200 {
		t.Errorf("module second after reload: HTTP %d %s\n%s", code, body, stderr.String())
	}
	if err := stop(); err != nil {
		t.Errorf("exporter returned %v", err)
	}
}

// startExporter runs 'pqtls exporter --config file args...' in-process and
// returns its address once it listens, its standard error, and stop, which
// cancels it and returns its error (at most 10 s; the test's cleanup stops
// it too).
func startExporter(t *testing.T, file string, args ...string) (addr string, stderr *testpeer.Buffer, stop func() error) {
	t.Helper()
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &testpeer.Buffer{}
	cmd := newExporterCmdWith(streams{in: strings.NewReader(""), out: io.Discard, errOut: stderr}, &exporterOpts{ready: ready})
	cmd.SetArgs(append([]string{"--config", file}, args...))
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("exporter did not stop within 10 s")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("exporter exited: %v", err)
	}
	return addr, stderr, stop
}

func TestExporterFlagsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/EXPORTER.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	newExporterCmd(streams{}).Flags().VisitAll(func(f *pflag.Flag) {
		n++
		if !strings.Contains(string(doc), "`--"+f.Name) {
			t.Errorf("docs/EXPORTER.md does not document --%s", f.Name)
		}
	})
	if n < 4 {
		t.Errorf("%d flags", n)
	}
}

func TestExporterListenInUseExits1(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := runCLI(t, "exporter", "--config", "../../examples/exporter.yaml", "--listen", ln.Addr().String())
	if code != exitFailure || !strings.Contains(stderr, "choose another --listen address") {
		t.Errorf("exit %d, stderr %q; want 1 with a hint", code, stderr)
	}
}

// TestExporterExposureWarning: on loopback without allowed_targets there is
// no warning (exporter.TestExposureWarning covers the other addresses: tests
// listen on loopback only); the default listen address stays :9650.
func TestExporterExposureWarning(t *testing.T) {
	if f := newExporterCmd(streams{}).Flags().Lookup("listen"); f == nil || f.DefValue != ":9650" {
		t.Fatalf("--listen default changed: %v", f)
	}
	file := filepath.Join(t.TempDir(), "exporter.yaml")
	if err := os.WriteFile(file, []byte("modules:\n  default:\n    timeout: 2s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		listen string
		warn   bool
	}{{"127.0.0.1:0", false}, {"[::1]:0", false}} {
		_, stderr, stop := startExporter(t, file, "--listen", tc.listen)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(stderr.String(), "no allowed_targets for module(s) default")
		if got != tc.warn {
			t.Errorf("--listen %s: warning %v, want %v:\n%s", tc.listen, got, tc.warn, stderr.String())
		}
	}
}

// tlsTarget serves TLS handshakes (then reads until close) with the
// certificate of serverCertFiles and the given groups (nil: Go's), and
// returns the certificate folder and the address.
func tlsTarget(t *testing.T, groups []tls.CurveID) (dir, addr string) {
	t.Helper()
	dir, cert := serverCertFiles(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, CurvePreferences: groups})
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 5*time.Second, func(c net.Conn) { _ = c.(*tls.Conn).Handshake(); _, _ = io.Copy(io.Discard, c) })
	return dir, ln.Addr().String()
}

// TestExporterFloodUnderLowUlimit: the real exporter process under
// `ulimit -n 200` (connection cap 200/4 = 50) gets 260 idle keep-alive
// connections: the 210 over the cap are closed at accept and counted in
// pqtls_http_connections_rejected_total{server="exporter"}, and a hybrid
// probe sent on a held connection still succeeds (its outbound connection
// finds a descriptor). Before internal/httpserve the exporter accepted
// until EMFILE and the probe's dial failed.
func TestExporterFloodUnderLowUlimit(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir, target := tlsTarget(t, nil)
	cfgFile := filepath.Join(dir, "exporter.yaml")
	if err := os.WriteFile(cfgFile, []byte("allowed_targets: [127.0.0.1/32]\nmodules:\n  default:\n    timeout: 5s\n    ca_file: ca.pem\n    server_name: localhost\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The test binary runs as "pqtls" (TestMain) under a hard and soft
	// limit of 200 descriptors.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "pqtls")
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-c", `ulimit -n 200 && exec "$0" "$@"`, bin, "exporter", "--config", cfgFile, "--listen", "127.0.0.1:0")
	stderr := &testpeer.Buffer{}
	cmd.Stderr = stderr
	// Killed with the test binary even if it dies before its cleanups run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addrRE := regexp.MustCompile(`msg="pqtls exporter listening" addr=(\S+)`)
	var addr string
	for i := 0; i < 500 && addr == ""; i++ {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if addr == "" {
		t.Fatalf("exporter did not start:\n%s", stderr.String())
	}
	// request sends one keep-alive request on c and returns the body.
	request := func(c net.Conn, r *bufio.Reader, path string) (string, error) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return "", err
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	type held struct {
		c net.Conn
		r *bufio.Reader
	}
	var kept []held
	refused := 0
	for i := range 260 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		r := bufio.NewReader(c)
		if _, err := request(c, r, "/"); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection %d neither served nor closed within 10 s: the exporter ran out of descriptors (%d kept, %d closed)", i, len(kept), refused)
			}
			refused++
			c.Close()
			continue
		}
		kept = append(kept, held{c, r})
	}
	if len(kept) != 50 || refused != 210 {
		t.Errorf("%d connections kept, %d closed at accept; want 50 and 210 (cap = 200/4)", len(kept), refused)
	}
	if len(kept) < 2 {
		t.Fatalf("no connection left to probe through:\n%s", stderr.String())
	}
	body, err := request(kept[0].c, kept[0].r, "/probe?module=default&target="+target)
	if err != nil || !strings.Contains(body, "probe_success 1") || !strings.Contains(body, `group="x25519_mlkem768"`) {
		t.Errorf("probe under flood: %v\n%s", err, body)
	}
	body, err = request(kept[1].c, kept[1].r, "/metrics")
	if err != nil || !strings.Contains(body, `pqtls_http_connections_rejected_total{server="exporter"} 210`) {
		t.Errorf("/metrics under flood: %v\n%s", err, grepLines(body, "pqtls_http_connections_rejected_total"))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestExporterEnumerateWired: 'pqtls exporter' wires scan's engine into the
// exporter: an enumerate module reports the groups a Go TLS 1.3 server
// accepts.
func TestExporterEnumerateWired(t *testing.T) {
	dir, target := tlsTarget(t, []tls.CurveID{tls.X25519MLKEM768, tls.X25519})
	file := filepath.Join(dir, "exporter.yaml")
	yml := "modules:\n  enum:\n    timeout: 5s\n    ca_file: ca.pem\n    server_name: localhost\n    enumerate: true\n    enumerate_groups: [X25519MLKEM768, x25519, secp256r1]\n"
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _, _ := startExporter(t, file, "--listen", "127.0.0.1:0")
	resp, err := http.Get("http://" + addr + "/probe?module=enum&target=" + target)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"probe_success 1", `probe_tls_group_supported{group="x25519_mlkem768",kind="hybrid"} 1`,
		`probe_tls_group_supported{group="x25519",kind="classical"} 1`, `probe_tls_group_supported{group="secp256r1",kind="classical"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("missing %s in\n%s", want, body)
		}
	}
}

// An address that can never be bound is a usage error, found before the
// config is loaded or anything listens (exit 2); a port in use stays exit 1.
func TestExporterInvalidListenExits2(t *testing.T) {
	for _, addr := range []string{":99999", "127.0.0.1:-1", "127.0.0.1:abc", "127.0.0.1"} {
		code, _, stderr := runCLI(t, "exporter", "--config", "../../examples/exporter.yaml", "--listen", addr)
		if code != exitUsage || !strings.Contains(stderr, "--listen") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("--listen %s: exit %d, stderr %q; want 2 with one line naming --listen", addr, code, stderr)
		}
	}
}
