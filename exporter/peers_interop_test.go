package exporter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// Local starters for nginx and Prometheus. internal/testpeer starts Node.js;
// these two follow its conventions (Require, skip or fail, stop at cleanup)
// until testpeer has its own.

// startProc starts a process that lives until the test ends; output goes to
// logFile.
func startProc(t *testing.T, logFile string, path string, args ...string) *exec.Cmd {
	t.Helper()
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd
}

func waitTCP(t *testing.T, addr, logFile string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(logFile)
	t.Fatalf("%s did not listen within 15s:\n%s", addr, b)
}

// startNginx starts Debian's nginx on 127.0.0.1 serving TLS with cert and the
// classical groups X25519 and P-256 only. It returns host:port.
func startNginx(t *testing.T, cert *testpki.Cert) string {
	t.Helper()
	testpeer.Require(t, testpeer.PeerNginx)
	path, _ := testpeer.Find(testpeer.PeerNginx)
	dir := t.TempDir()
	files := cert.WriteFiles(t, dir)
	port := testpeer.FreePort(t)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen 127.0.0.1:%[2]d ssl;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ecdh_curve X25519:prime256v1;
    location / { return 200 "classical\n"; }
  }
}
`, dir, port, files.Cert, files.Key)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "nginx.out")
	startProc(t, logFile, path, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confFile)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitTCP(t, addr, logFile)
	return addr
}

// prom is a running Prometheus.
type prom struct {
	url string
	dir string
}

// startPrometheus starts Debian's Prometheus on 127.0.0.1 with configYAML
// (written to its temp dir) and waits until it is ready.
func startPrometheus(t *testing.T, configYAML []byte) *prom {
	t.Helper()
	testpeer.Require(t, testpeer.PeerPrometheus)
	path, _ := testpeer.Find(testpeer.PeerPrometheus)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, configYAML, 0o600); err != nil {
		t.Fatal(err)
	}
	port := testpeer.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logFile := filepath.Join(dir, "prometheus.log")
	startProc(t, logFile, path, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	p := &prom{url: "http://" + addr, dir: dir}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Cleanup(func() {
					if t.Failed() {
						b, _ := os.ReadFile(logFile)
						t.Logf("prometheus log:\n%s", b)
					}
				})
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(logFile)
	t.Fatalf("prometheus not ready within 30s:\n%s", b)
	return nil
}

// promSample is one element of an instant vector result.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s promSample) float(t *testing.T) float64 {
	t.Helper()
	str, _ := s.Value[1].(string)
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		t.Fatalf("sample value %v: %v", s.Value, err)
	}
	return f
}

// query runs an instant query; it returns the result type, the vector (if
// any) and the API error (status != success).
func (p *prom) query(ctx context.Context, expr string) (string, []promSample, error) {
	u := p.url + "/api/v1/query?" + url.Values{"query": {expr}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", nil, fmt.Errorf("query %q: HTTP %d %s", expr, resp.StatusCode, body)
	}
	if r.Status != "success" {
		return "", nil, fmt.Errorf("query %q: %s: %s", expr, r.ErrorType, r.Error)
	}
	var vec []promSample
	if r.Data.ResultType == "vector" {
		if err := json.Unmarshal(r.Data.Result, &vec); err != nil {
			return "", nil, err
		}
	}
	return r.Data.ResultType, vec, nil
}

// queryRange runs a range query over the last minute and returns the API
// error, if any.
func (p *prom) queryRange(ctx context.Context, expr string) (int, error) {
	now := time.Now()
	v := url.Values{"query": {expr}, "start": {strconv.FormatInt(now.Add(-time.Minute).Unix(), 10)},
		"end": {strconv.FormatInt(now.Unix(), 10)}, "step": {"5"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/query_range?"+v.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("range query %q: %s", expr, r.Error)
	}
	return len(r.Data.Result), nil
}

// waitFor polls expr until it returns at least one sample for which ok is
// true, or fails after timeout.
func (p *prom) waitFor(t *testing.T, expr string, timeout time.Duration, ok func([]promSample) bool) []promSample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last []promSample
	var lastErr error
	for ctx.Err() == nil {
		_, vec, err := p.query(ctx, expr)
		if err == nil && len(vec) > 0 && ok(vec) {
			return vec
		}
		last, lastErr = vec, err
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: last result %v, err %v", expr, last, lastErr)
	return nil
}
