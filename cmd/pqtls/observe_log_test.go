package main

import (
	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testNginxFormat = `$remote_addr:$remote_port [$time_local] "$request" $status $ssl_protocol $ssl_curve "$ssl_server_name" $ssl_cipher`

const testNginxLog = `192.0.2.1:50001 [02/Dec/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 TLSv1.3 X25519MLKEM768 "a.test" TLS_AES_128_GCM_SHA256
192.0.2.1:50002 [02/Dec/2026:12:00:01 +0000] "GET / HTTP/1.1" 200 TLSv1.3 0x11ec "a.test" TLS_AES_256_GCM_SHA384
192.0.2.2:50003 [02/Dec/2026:12:00:02 +0000] "GET / HTTP/1.1" 200 TLSv1.3 X25519 "b.test" TLS_AES_256_GCM_SHA384
192.0.2.3:50004 [02/Dec/2026:12:00:03 +0000] "GET / HTTP/1.1" 200 TLSv1.2 prime256v1 "c.test" ECDHE-RSA-AES128-GCM-SHA256
192.0.2.4:50005 [02/Dec/2026:12:00:04 +0000] "GET / HTTP/1.1" 200 - - "-" -
not an access log line
`

// Issue 16 item 3: pqtls observe --log nginx reads an access log into the
// same pqtls.observe/v1 records (source "log"), table and metrics as a
// capture; bad lines are counted with their numbers, never fatal.
func TestObserveLogNginx(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(p, []byte(testNginxLog), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"observe", "--log", "nginx", "--log-format", testNginxFormat, "-r", p}
	code, out, errOut := runCLI(t, append(args, "--format", "jsonl")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	flows := jsonFlows(t, out)
	if len(flows) != 4 {
		t.Fatalf("%d records:\n%s", len(flows), out)
	}
	for i, want := range []string{"hybrid", "hybrid", "classical", "tls12"} {
		if flows[i].Outcome != want || flows[i].Source != "log" {
			t.Errorf("record %d: %s %s, want %s from the log", i+1, flows[i].Outcome, flows[i].Source, want)
		}
	}
	if flows[1].SelectedGroup != "X25519MLKEM768" || flows[0].Client != "192.0.2.1:50001" {
		t.Errorf("0x11ec not mapped through the registry: %+v", flows[1])
	}
	if want := "6 log lines read, 4 TLS handshakes, 1 non-TLS lines, 1 bad lines skipped (lines 6; first: line 6: "; !strings.Contains(errOut, want) {
		t.Errorf("stats line %q, want %q", errOut, want)
	}
	validateFlows(t, out)

	code, out, _ = runCLI(t, append(args, "--format", "prom")...)
	for _, want := range []string{
		`tls_handshake_group_total{group="x25519_mlkem768",kind="hybrid",role="observed"} 2`,
		`tls_handshake_group_total{group="x25519",kind="classical",role="observed"} 1`,
		`pqtls_observe_flows_total{outcome="tls12"} 1`,
		`pqtls_observe_log_lines_total 6`,
		`pqtls_observe_log_bad_lines_total 1`,
		`tls_handshake_cipher_total{cipher="TLS_AES_256_GCM_SHA384",role="observed",version="TLS 1.3"} 2`,
		`tls_handshake_cipher_total{cipher="TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",role="observed",version="TLS 1.2"} 1`,
	} {
		if code != 0 || !strings.Contains(out, want+"\n") {
			t.Errorf("exit %d, missing %q in:\n%s", code, want, out)
		}
	}
	code, out, _ = runCLI(t, append(args, "--by", "client")...)
	if code != 0 || !strings.Contains(out, "192.0.2.1 ") || !strings.HasSuffix(strings.TrimSpace(out), "50.0") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
}

func TestObserveLogErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	os.WriteFile(p, []byte("one\ntwo\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--log", "apache", "-r", p}, exitUsage, "use one of aws-alb, aws-nlb, caddy, envoy, haproxy, nginx, pqtls, traefik, zeek"},
		{[]string{"--log", "nginx", "-r", p}, exitUsage, "needs --log-format"},
		{[]string{"--log", "nginx", "--log-format", "$ssl_protocol$ssl_curve", "-r", p}, exitUsage, "not separated"},
		{[]string{"--log", "zeek", "-i", "lo"}, exitUsage, "-i and --filter are for packets"},
		{[]string{"--log-format", "$ssl_protocol", "-r", p}, exitUsage, "--log-format needs --log"},
		{[]string{"--log", "zeek", "-r", p, "--serve", ":0"}, exitUsage, "--serve only works while reading a stream"},
		{[]string{"--log", "nginx", "--log-format", "$remote_addr $ssl_protocol", "-r", p}, exitFailure, "no line of the log matched --log nginx (line 1: "},
		{[]string{"--log", "zeek", "-r", "/nonexistent.log"}, exitFailure, "no such file"},
	} {
		code, _, errOut := runCLI(t, append([]string{"observe"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errOut, tc.code, tc.msg)
		}
	}
}

// tail -F access.log | pqtls observe --log nginx -r - --serve: metrics
// while the stream runs.
func TestObserveLogStreamServe(t *testing.T) {
	pr, pw := io.Pipe()
	addr, errOut, wait := observeServing(t, pr, "observe", "--log", "nginx", "--log-format", testNginxFormat, "-r", "-", "--format", "jsonl")
	go io.WriteString(pw, testNginxLog)
	var m string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if m = scrape(t, addr); strings.Contains(m, "pqtls_observe_log_lines_total 6\n") {
			break
		}
	}
	for _, want := range []string{`tls_handshake_group_total{group="x25519_mlkem768",kind="hybrid",role="observed"} 2`, "pqtls_observe_log_lines_total 6\n", "pqtls_observe_log_bad_lines_total 1\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("missing %q while streaming:\n%s", want, m)
		}
	}
	pw.Close()
	if code := wait(); code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}

// A real nginx (Debian's, OpenSSL 3.0: classical only) logging with a
// custom log_format that has $ssl_protocol and $ssl_curve, driven by Node 26
// clients; its log fed to pqtls observe --log nginx. Each record's group
// is the one Node negotiated, looked up by codepoint in the pqtls registry,
// so the same test holds for an nginx on OpenSSL 3.5 that logs 0x11ec.
func TestInteropNginxAccessLog(t *testing.T) {
	if testing.Short() {
		t.Skip("real nginx and Node; skipped in -short mode")
	}
	logPath := filepath.Join(t.TempDir(), "pq.log")
	format := `$remote_addr:$remote_port [$time_local] "$request" $status $ssl_protocol $ssl_curve "$ssl_server_name" $connection_requests`
	ng := testpeer.Nginx(t, testpeer.NginxOptions{
		HTTPExtra: "  log_format pq '" + format + "';",
		Extra:     "    access_log " + logPath + " pq;",
	})
	var results []testpeer.NodeResult
	for _, curves := range []string{"", "prime256v1", "X25519"} { // Node 26 default offers X25519MLKEM768 first
		r := testpeer.NodeClient(t, ng.Addr, testpeer.NodeClientOptions{CA: ng.CA, Curves: curves, Send: "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"})
		if !r.Connected || r.GroupID == 0 {
			t.Fatalf("Node against nginx (curves %q): %+v", curves, r)
		}
		results = append(results, r)
	}
	var log string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(logPath)
		if log = string(b); strings.Count(log, "\n") >= len(results) {
			break
		}
	}
	code, out, errOut := runCLI(t, "observe", "--log", "nginx", "--log-format", format, "-r", logPath, "--format", "jsonl")
	if code != 0 {
		t.Fatalf("exit %d: %s\nlog:\n%s", code, errOut, log)
	}
	flows := jsonFlows(t, out)
	if len(flows) != len(results) {
		t.Fatalf("%d records for %d handshakes:\n%s\nlog:\n%s", len(flows), len(results), out, log)
	}
	for i, r := range results {
		f := flows[i]
		wantGroup := pqtls.GroupName(r.GroupID)
		wantOutcome := map[pqtls.Kind]string{pqtls.KindHybrid: "hybrid", pqtls.KindClassical: "classical"}[pqtls.GroupKind(r.GroupID)]
		if f.SelectedGroup != wantGroup || f.Outcome != wantOutcome || f.Version != "TLS 1.3" || f.Source != "log" || f.SNI != "localhost" {
			t.Errorf("handshake %d: Node saw %s (%#04x, %s); record %s %s %s %s\nlog:\n%s", i+1, r.Group, uint16(r.GroupID), r.Protocol,
				f.SelectedGroup, f.Outcome, f.Version, f.SNI, log)
		}
	}
	t.Logf("nginx access log:\n%s", log)
	if !strings.Contains(errOut, "3 log lines read, 3 TLS handshakes, 0 non-TLS lines") {
		t.Errorf("stats: %s", errOut)
	}
	validateFlows(t, out)
}
