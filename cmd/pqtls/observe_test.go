package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
	"github.com/pqtls/pqtls/internal/testschema"
	"github.com/pqtls/pqtls/observe"
)

const recorded = "../../observe/testdata/interop.pcap"

func jsonFlows(t *testing.T, out string) []observe.Flow {
	t.Helper()
	var flows []observe.Flow
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var f observe.Flow
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		if f.Schema != "pqtls.observe/v1" {
			t.Fatalf("schema %q", f.Schema)
		}
		flows = append(flows, f)
	}
	return flows
}

func TestObserveJSONL(t *testing.T) {
	code, out, errOut := runCLI(t, "observe", "-r", recorded, "--format", "jsonl")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	outcomes := map[string]int{}
	for _, f := range jsonFlows(t, out) {
		outcomes[f.Outcome]++
	}
	want := map[string]int{"hybrid": 4, "classical": 1, "tls12": 1, "failed": 1}
	if len(outcomes) != len(want) {
		t.Errorf("outcomes %v, want %v", outcomes, want)
	}
	for k, v := range want {
		if outcomes[k] != v {
			t.Errorf("outcomes %v, want %v", outcomes, want)
		}
	}
	if !strings.Contains(errOut, "104 packets analysed, 7 TLS flows, 0 malformed") {
		t.Errorf("stats line: %q", errOut)
	}
}

func TestObserveTable(t *testing.T) {
	code, out, _ := runCLI(t, "observe", "-r", recorded)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 8 || !strings.HasPrefix(lines[0], "SERVER ") || !strings.HasPrefix(lines[7], "TOTAL") ||
		!strings.HasSuffix(lines[7], "66.7") {
		t.Errorf("exit %d, table:\n%s", code, out)
	}
	code, out, _ = runCLI(t, "observe", "-r", recorded, "--by", " Client ", "--format", "TABLE")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[1], "127.0.0.1 ") {
		t.Errorf("by client: exit %d:\n%s", code, out)
	}
}

func TestObserveProm(t *testing.T) {
	code, out, _ := runCLI(t, "observe", "-r", recorded, "--format", "prom")
	for _, want := range []string{
		`tls_handshake_group_total{group="x25519_mlkem768",kind="hybrid",role="observed"} 4`,
		`tls_handshake_group_total{group="x25519",kind="classical",role="observed"} 2`,
		`tls_handshake_hello_retry_total{group="x25519_mlkem768",role="observed"} 1`,
		`tls_handshake_errors_total{reason="reset",role="observed"} 1`,
		`pqtls_observe_flows_total{outcome="tls12"} 1`,
		`pqtls_observe_packets_total 104`,
		// issue 13 item 10: the negotiated cipher suite, bounded labels
		`tls_handshake_cipher_total{cipher="TLS_AES_128_GCM_SHA256",role="observed",version="TLS 1.3"} 4`,
		`tls_handshake_cipher_total{cipher="TLS_AES_256_GCM_SHA384",role="observed",version="TLS 1.3"} 1`,
		`tls_handshake_cipher_total{cipher="TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",role="observed",version="TLS 1.2"} 1`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v %s", err, b)
		}
	}
}

func TestObserveOutputFileAndFailUnlessPQ(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flows.jsonl")
	code, out, _ := runCLI(t, "observe", "-r", recorded, "--format", "jsonl", "-o", path)
	b, err := os.ReadFile(path)
	if code != 0 || out != "" || err != nil || len(jsonFlows(t, string(b))) != 7 {
		t.Errorf("exit %d stdout %q file err %v", code, out, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}
	if code, _, _ := runCLI(t, "observe", "-r", recorded, "-o", filepath.Join(dir, "missing", "x")); code != exitUsage {
		t.Errorf("unwritable output: exit %d", code)
	}
	// The capture has classical and TLS 1.2 flows.
	code, _, errOut := runCLI(t, "observe", "-r", recorded, "--fail-unless-pq")
	if code != exitFailure || !strings.Contains(errOut, "2 completed handshake(s) without a hybrid") {
		t.Errorf("fail-unless-pq: exit %d %q", code, errOut)
	}
	// Only the hybrid server's port: passes.
	_, out, _ = runCLI(t, "observe", "-r", recorded, "--format", "jsonl")
	var port string
	for _, f := range jsonFlows(t, out) {
		if f.SNI == "hybrid.test" {
			_, port, _ = net.SplitHostPort(f.Server)
		}
	}
	if _, err := exec.LookPath("tcpdump"); err == nil {
		code, out, errOut = runCLI(t, "observe", "-r", recorded, "--fail-unless-pq", "--filter", "tcp port "+port, "--format", "jsonl")
		if code != 0 || len(jsonFlows(t, out)) != 1 {
			t.Errorf("filtered fail-unless-pq: exit %d %s %s", code, out, errOut)
		}
	}
}

func TestObserveErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"observe"}, exitUsage, "exactly one of -r FILE"},
		{[]string{"observe", "-r", recorded, "-i", "lo"}, exitUsage, "exactly one of -r FILE"},
		{[]string{"observe", "-r", recorded, "--format", "xml"}, exitUsage, "use table, jsonl or prom"},
		{[]string{"observe", "-r", recorded, "--by", "sni"}, exitUsage, "use server or client"},
		{[]string{"observe", "-r", recorded, "--serve", ":0"}, exitUsage, "--serve only works while reading a stream"},
		{[]string{"observe", "-r", "/nonexistent.pcap"}, exitFailure, "no such file"},
		{[]string{"observe", "-r", "observe.go"}, exitFailure, "not a pcap or pcapng file"},
		{[]string{"observe", "-i", "nonexistent0"}, exitFailure, "list interfaces with 'ip link'"},
		{[]string{"observe", "--bogus"}, exitUsage, "unknown flag"},
		{[]string{"observe", "-i", "lo", "--duration", "-5s"}, exitUsage, "--duration must be positive"},
		{[]string{"observe", "-r", recorded, "--filter", "tcp port"}, exitUsage, "invalid filter"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errOut, tc.code, tc.msg)
		}
	}
}

// TestNetnsLiveCapture captures live on the loopback interface with the
// AF_PACKET socket (needs root), filtered to one port, while a handshake
// runs, and scrapes --serve during the capture.
func TestNetnsLiveCapture(t *testing.T) {
	if testing.Short() {
		t.Skip("live capture needs root; skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("PQTLS_REQUIRE_PEERS") == "1" {
			t.Fatal("live capture needs root; PQTLS_REQUIRE_PEERS=1 makes this a failure")
		}
		t.Skip("live capture needs root")
	}
	ca := testpki.NewCA(t)
	cfg, err := pqtls.ServerConfig(pqtls.Options{Base: &tls.Config{Certificates: []tls.Certificate{ca.Server(t, testpki.CertOptions{}).TLS}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 0, func(c net.Conn) { c.(*tls.Conn).Handshake(); c.Write([]byte("ok")) })
	port := ln.Addr().(*net.TCPAddr).Port
	metricsLn, _ := net.Listen("tcp", "127.0.0.1:0")
	metricsAddr := metricsLn.Addr().String()
	metricsLn.Close()

	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := runCLI(t, "observe", "-i", "lo", "--filter", "tcp port "+strconv.Itoa(port), "--duration", "4s",
			"--format", "jsonl", "--serve", metricsAddr)
		done <- result{code, out, errOut}
	}()
	time.Sleep(1500 * time.Millisecond) // capture started
	for range 3 {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(conn)
		conn.Close()
	}
	time.Sleep(1200 * time.Millisecond) // the OnTick publishes and flows finish
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+metricsAddr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	var scraped string
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		scraped = string(b)
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	flows := jsonFlows(t, r.out)
	if len(flows) != 3 {
		t.Fatalf("%d flows captured live, want 3:\n%s", len(flows), r.out)
	}
	for _, f := range flows {
		if f.Outcome != "hybrid" || f.SelectedGroup != "X25519MLKEM768" || len(f.Notes) != 0 {
			t.Errorf("live flow %+v", f)
		}
	}
	if !strings.Contains(scraped, `tls_handshake_group_total{group="x25519_mlkem768",kind="hybrid",role="observed"} 3`) {
		t.Errorf("--serve during capture: err %v, metrics:\n%s", err, scraped)
	}
}

// observeSchema is the published JSON Schema of pqtls.observe/v1 records.
const observeSchema = "../../docs/schemas/pqtls.observe.v1.schema.json"

// validateFlows checks every JSONL line of out against the published schema.
func validateFlows(t *testing.T, out string) {
	t.Helper()
	sch := testschema.Load(t, observeSchema)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if err := testschema.Validate(t, sch, []byte(line)); err != nil {
			t.Errorf("record does not match the schema: %v\n%s", err, line)
		}
	}
}

// TestObserveJSONLSchema validates every record against the published JSON
// Schema (additionalProperties false: a new field must be documented).
func TestObserveJSONLSchema(t *testing.T) {
	code, out, _ := runCLI(t, "observe", "-r", recorded, "--format", "jsonl")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	validateFlows(t, out)
	// The schema is not vacuous.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	bad := strings.Replace(lines[0], `"outcome":"`, `"surprise":1,"outcome":"`, 1)
	if testschema.Validate(t, testschema.Load(t, observeSchema), []byte(bad)) == nil {
		t.Error("a record with an undocumented field validates")
	}
}

func TestObserveStdin(t *testing.T) {
	b, err := os.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	var o, e strings.Builder
	code := run([]string{"observe", "-r", "-", "--format", "jsonl"}, strings.NewReader(string(b)), &o, &e)
	if code != 0 || len(jsonFlows(t, o.String())) != 7 {
		t.Errorf("exit %d, stderr %q", code, e.String())
	}
	code = run([]string{"observe", "-r", "-"}, strings.NewReader("not a capture"), &o, &e)
	if code != exitFailure || !strings.Contains(e.String(), "standard input") {
		t.Errorf("garbage on stdin: exit %d, stderr %q", code, e.String())
	}
}

// corruptCapture copies the recorded capture with the captured length of
// packet n (1-based) set to an impossible value.
func corruptCapture(t *testing.T, n int) string {
	t.Helper()
	b, err := os.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != "\xd4\xc3\xb2\xa1" {
		t.Fatalf("%s is not a little-endian pcap", recorded)
	}
	off := 24
	for i := 1; i < n; i++ {
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
	}
	copy(b[off+8:], "\xff\xff\xff\x7f")
	p := filepath.Join(t.TempDir(), "damaged.pcap")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A capture damaged in the middle: the flows before the damage are reported
// (whole JSONL lines only), the run fails naming the packet, and --output
// is not written.
func TestObserveDamagedCapture(t *testing.T) {
	p := corruptCapture(t, 60)
	code, out, errOut := runCLI(t, "observe", "-r", p, "--format", "jsonl")
	if code != exitFailure || !strings.Contains(errOut, "reading packet 60") || !strings.Contains(errOut, "covers only the 59 packets") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if n := len(jsonFlows(t, out)); n == 0 || n >= 7 {
		t.Errorf("%d flows reported before the damage, want some but not all 7", n)
	}
	dst := filepath.Join(t.TempDir(), "report.txt")
	if code, _, _ := runCLI(t, "observe", "-r", p, "-o", dst); code != exitFailure {
		t.Errorf("exit %d with --output", code)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("--output written for a damaged capture: %v", err)
	}
}

// Ctrl-C while reading a file: the report of what was read is written, and
// the run fails (the file was not read to its end).
func TestObserveInterruptedFile(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut strings.Builder
	err := runObserve(ctx, streams{in: strings.NewReader(""), out: &out, errOut: &errOut},
		observeFlags{read: recorded, format: "table", by: "server", idle: time.Minute, maxFlows: 10, maxBuffer: 1 << 20})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitFailure || !strings.Contains(ee.err.Error(), "interrupted") {
		t.Fatalf("err %v, want an exit-1 error saying interrupted", err)
	}
	if !strings.HasPrefix(out.String(), "SERVER ") {
		t.Errorf("no report written: %q", out.String())
	}
}

const openFlows = "../../observe/testdata/openflows.pcap" // 10 hybrid handshakes, connections left open

// Issue 11 item 9: --max-flows 5 on 10 connections reports 5 flows not
// tracked, not one per packet, and counts their packets apart.
func TestObserveMaxFlowsCountsFlows(t *testing.T) {
	code, out, errOut := runCLI(t, "observe", "-r", openFlows, "--max-flows", "5", "--format", "prom")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, ", 5 TLS flows,") || !strings.Contains(errOut, ", 5 flows not tracked and their ") {
		t.Errorf("stats line: %q", errOut)
	}
	for _, want := range []string{"pqtls_observe_dropped_flows_total 5\n", `pqtls_observe_flows_total{outcome="hybrid"} 5` + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "pqtls_observe_dropped_packets_total ") || strings.Contains(out, "pqtls_observe_dropped_packets_total 0\n") {
		t.Errorf("dropped packets not counted:\n%s", out)
	}
}

// The global handshake buffer budget: a budget smaller than one ClientHello
// evicts every handshake before it is read, says so on stderr and in the
// metrics; the default reads all 10.
func TestObserveMaxBufferBytes(t *testing.T) {
	code, out, errOut := runCLI(t, "observe", "-r", openFlows, "--max-buffer-bytes", "1000", "--format", "prom")
	if code != 0 || !strings.Contains(errOut, ", 10 flows evicted before their handshake was read (buffered handshake bytes over 1000: raise --max-buffer-bytes)") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "pqtls_observe_evicted_flows_total 10\n") || !strings.Contains(out, `pqtls_observe_flows_total{outcome="incomplete"} 10`+"\n") {
		t.Errorf("metrics:\n%s", out)
	}
	code, out, errOut = runCLI(t, "observe", "-r", openFlows, "--format", "prom")
	if code != 0 || strings.Contains(errOut, "evicted") || !strings.Contains(out, `pqtls_observe_flows_total{outcome="hybrid"} 10`+"\n") {
		t.Errorf("default budget: exit %d, stderr %q\n%s", code, errOut, out)
	}
	if code, _, errOut := runCLI(t, "observe", "-r", openFlows, "--max-buffer-bytes", "0"); code != exitUsage || !strings.Contains(errOut, "--max-buffer-bytes") {
		t.Errorf("--max-buffer-bytes 0: exit %d %q", code, errOut)
	}
}

// Issue 11 item 1: -o is opened before any work. A directory or a path in
// a missing directory is exit 2 and nothing is read (no stats line).
func TestObserveOutputCheckedBeforeWork(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{dir, filepath.Join(dir, "missing", "report.txt")} {
		code, out, errOut := runCLI(t, "observe", "-r", recorded, "-o", path)
		if code != exitUsage || strings.Contains(errOut, "packets analysed") || out != "" {
			t.Errorf("-o %s: exit %d, stdout %q, stderr %q; want exit 2 before reading the capture", path, code, out, errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left in %s: %v", dir, entries)
	}
}

// A symlink to a regular file keeps being a symlink: its target is
// replaced. A failed read leaves the old content of the target.
func TestObserveOutputSymlinkAndAbort(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "report.txt")
	link := filepath.Join(dir, "latest")
	if err := os.WriteFile(target, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("report.txt", link); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "observe", "-r", corruptCapture(t, 60), "-o", link); code != exitFailure || !strings.Contains(errOut, "not written") {
		t.Errorf("damaged capture: exit %d %q", code, errOut)
	}
	if b, _ := os.ReadFile(target); string(b) != "old\n" {
		t.Errorf("a failed read replaced the report: %q", b)
	}
	if code, _, errOut := runCLI(t, "observe", "-r", recorded, "-o", link); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	st, err := os.Lstat(link)
	if err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v %v", st.Mode(), err)
	}
	b, _ := os.ReadFile(target)
	if fi, _ := os.Stat(target); !strings.HasPrefix(string(b), "SERVER ") || fi.Mode().Perm() != 0o640 {
		t.Errorf("target: mode %v, content %q", fi.Mode().Perm(), b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temp files left: %v", entries)
	}
}

// A character device is written in place, never replaced by a file (as
// root, the old code renamed a temp file over the device node).
func TestObserveOutputDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	dev := filepath.Join(t.TempDir(), "null")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, 1<<8|3); err != nil { // 1,3: /dev/null
		t.Skipf("mknod: %v", err)
	}
	if code, _, errOut := runCLI(t, "observe", "-r", recorded, "-o", dev); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if st, err := os.Lstat(dev); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the device node was replaced: %v %v", st.Mode(), err)
	}
}

// observeServing runs pqtls observe with args on the stream in and returns
// the --serve address once it is printed, and a function that waits for
// the exit code.
func observeServing(t *testing.T, in io.Reader, args ...string) (addr string, errOut *testpeer.Buffer, wait func() int) {
	t.Helper()
	errOut = &testpeer.Buffer{}
	done := make(chan int, 1)
	go func() { done <- run(append(args, "--serve", "127.0.0.1:0"), in, io.Discard, errOut) }()
	re := regexp.MustCompile(`serving metrics on http://([0-9.:]+)/metrics`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(errOut.String()); m != nil {
			return m[1], errOut, func() int { return <-done }
		}
		select {
		case code := <-done:
			t.Fatalf("exit %d before serving: %s", code, errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no serving line: %s", errOut.String())
	return "", nil, nil
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Issue 11 item 2: --serve is the hardened side-port server (its
// connection cap counts rejections on pqtls_http_connections_rejected_total);
// it serves while a capture streams in on standard input.
func TestObserveServeStream(t *testing.T) {
	b, err := os.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	addr, errOut, wait := observeServing(t, pr, "observe", "-r", "-", "--format", "prom")
	bw := bufio.NewWriter(pw)
	bw.Write(b)
	bw.Flush()
	var m string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m = scrape(t, addr); strings.Contains(m, `tls_handshake_group_total{group="x25519_mlkem768",kind="hybrid",role="observed"} 4`) &&
			strings.Contains(m, "pqtls_observe_packets_total 104\n") {
			break
		}
	}
	if !strings.Contains(m, `pqtls_http_connections_rejected_total{server="observe"} 0`) || !strings.Contains(m, "pqtls_observe_packets_total 104\n") ||
		!strings.Contains(m, `tls_handshake_group_total{group="x25519_mlkem768",kind="hybrid",role="observed"} 4`) {
		t.Errorf("metrics while streaming:\n%s", m)
	}
	pw.Close()
	if code := wait(); code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}

// Issue 17: a capture cut inside a packet (tcpdump killed while writing) is
// read up to the cut with the warning docs/OBSERVE.md promises, on stderr.
func TestObserveCutCaptureWarns(t *testing.T) {
	b, err := os.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(p, b[:len(b)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "observe", "-r", p)
	if code != 0 || !strings.Contains(errOut, `level=WARN msg="capture ends inside a packet; the rest is ignored"`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if _, _, errOut := runCLI(t, "observe", "-r", recorded); strings.Contains(errOut, "WARN") {
		t.Errorf("warning on a whole capture: %q", errOut)
	}
}

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
