package main

import (
	"bytes"
	"crypto/tls"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
	"github.com/pqtls/pqtls/scan"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// scanTestServer serves TLS with a pqtls policy and returns its address and
// the CA file that verifies it.
func scanTestServer(t *testing.T, mode string) (addr, caFile string) {
	t.Helper()
	cfg, caFile := scanServerConfig(t, mode)
	return serveLoopback(t, cfg, drain), caFile
}

// scanServerConfig is a pqtls server config with the policy mode and a
// certificate from a fresh test CA, with the CA file that verifies it.
func scanServerConfig(t *testing.T, mode string) (*tls.Config, string) {
	t.Helper()
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{CommonName: "cli-scan"})
	pol, _, err := pqtls.ParsePolicy(mode, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pqtls.ServerConfig(pqtls.Options{Policy: pol, Base: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, ca.WriteCertFile(t, t.TempDir())
}

// serveLoopback serves handle on a loopback listener (TLS when cfg is not
// nil) until the test ends and returns its address.
func serveLoopback(t *testing.T, cfg *tls.Config, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	testpeer.Serve(t, ln, 5*time.Second, handle)
	return ln.Addr().String()
}

// drain reads a connection to its end and never answers.
func drain(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// writeFile writes data to dir/name (0644, dir created) and returns the path.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// reportSummary is the summary of a pqtls.scan/v1 JSON report.
type reportSummary struct {
	Endpoints int            `json:"endpoints"`
	Verdicts  map[string]int `json:"verdicts"`
}

func scanCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// scanJSON runs pqtls with args, wants exit 0 and decodes standard output
// into v; it returns the output.
func scanJSON(t *testing.T, v any, args ...string) string {
	t.Helper()
	code, out, errOut := scanCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("pqtls %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("pqtls %s: JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// countingListener counts connections (closed at once) to show that a
// command did no work.
func countingListener(t *testing.T) (string, chan struct{}) {
	t.Helper()
	conns := make(chan struct{}, 64)
	return serveLoopback(t, nil, func(c net.Conn) { conns <- struct{}{} }), conns
}

func TestScanCLIJSONAndFailOn(t *testing.T) {
	ready, ca := scanTestServer(t, "prefer")
	classical, _ := scanTestServer(t, "classical")
	var rep struct {
		Schema    string        `json:"schema"`
		Summary   reportSummary `json:"summary"`
		Endpoints []struct {
			Address       string `json:"address"`
			Verdict       string `json:"verdict"`
			ChainVerified bool   `json:"chain_verified"`
			Groups        []struct {
				Name string `json:"name"`
			} `json:"groups"`
			Connections int `json:"connections"`
		} `json:"endpoints"`
	}
	scanJSON(t, &rep, "scan", "--format", "json", "--ca", ca, "--timeout", "3s", ready, classical)
	if rep.Schema != "pqtls.scan/v1" || rep.Summary.Endpoints != 2 || rep.Summary.Verdicts["pq_ready"] != 1 || rep.Summary.Verdicts["classical"] != 1 {
		t.Errorf("report header: %+v", rep)
	}
	e := rep.Endpoints
	if e[0].Address != ready || e[0].Verdict != "pq_ready" || !e[0].ChainVerified || e[0].Groups[0].Name != "X25519MLKEM768" || e[0].Connections < 3 {
		t.Errorf("first endpoint: %+v", e[0])
	}
	if e[1].Address != classical || e[1].Verdict != "classical" {
		t.Errorf("second endpoint: %+v", e[1])
	}

	code, out, errOut := scanCLI(t, "", "scan", "--fail-on", "classical", "--quick", ready, classical)
	if code != 1 || !strings.Contains(errOut, classical) || strings.Contains(errOut, ready+" ") || !strings.Contains(out, "pq_ready") {
		t.Errorf("--fail-on classical: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if code, _, _ := scanCLI(t, "", "scan", "--fail-on", "classical", "--quick", ready); code != 0 {
		t.Errorf("--fail-on with no offender: exit %d", code)
	}
}

func TestScanCLIUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "fleet.txt", "# fleet\n127.0.0.1:443\nweb.internal:70000\n")
	empty := writeFile(t, dir, "empty.txt", "# nothing\n")
	// Each command line is split on spaces (the temporary paths have none).
	for _, tc := range []struct{ cmd, want string }{
		{"scan", "no targets"},
		{"scan db.internal", "argument 1"},
		{"scan -f " + bad, "fleet.txt:3"},
		{"scan -f " + empty, "no targets"},
		{"scan --format xml 127.0.0.1:1", "unknown format \"xml\": use table, json, csv, html, cbom"},
		{"scan --fail-on sometimes 127.0.0.1:1", "unknown --fail-on"},
		{"scan --starttls gopher 127.0.0.1:1", "unknown protocol"},
		{"scan --groups X25519MLKEM769 127.0.0.1:1", "did you mean"},
		{"scan --cert c.pem 127.0.0.1:1", "--cert and --key"},
		{"scan --timeout 0s 127.0.0.1:1", "--timeout"},
		{"scan --inventory " + filepath.Join(dir, "missing.yaml"), "inventory"},
		{"scan --bogus", "unknown flag"},
		{"scan --progress always 127.0.0.1:1", "unknown --progress"},
		{"scan --sort random 127.0.0.1:1", "unknown --sort"},
		{"scan - -f -", "stdin"},
		{"scan --shard 0/4 127.0.0.1:1", "--shard"},
		{"scan --shard 5/4 127.0.0.1:1", "--shard"},
		{"scan --shard 2 127.0.0.1:1", "K/N"},
		{"scan --max-endpoints 0 127.0.0.1:1", "--max-endpoints"},
		{"scan --max-endpoints 3 127.0.0.0/30:1 127.0.0.9:1", "5 endpoints exceed the limit of 3"},
	} {
		code, out, errOut := scanCLI(t, "", strings.Fields(tc.cmd)...)
		if code != 2 || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("pqtls %s: exit %d, stderr %q, stdout %q; want exit 2 mentioning %q", tc.cmd, code, errOut, out, tc.want)
		}
	}
}

func TestScanCLIOutputs(t *testing.T) {
	ready, ca := scanTestServer(t, "prefer")
	dir := t.TempDir()
	// stdin target list, HTML file.
	html := filepath.Join(dir, "report.html")
	code, out, errOut := scanCLI(t, "# from stdin\n"+ready+"\n", "scan", "--ca", ca, "--format", "html", "-o", html, "-")
	if code != 0 || out != "" {
		t.Fatalf("html: exit %d stdout %q stderr %s", code, out, errOut)
	}
	page, _ := os.ReadFile(html)
	s := string(page)
	for _, want := range []string{"<!DOCTYPE html>", "<svg", "pq_ready", "X25519MLKEM768", "<script>", ready} {
		if !strings.Contains(s, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"<link", "src=", "@import", "url("} {
		if strings.Contains(s, bad) {
			t.Errorf("HTML is not self-contained: contains %q", bad)
		}
	}
	// CBOM
	var bom struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Components  []struct {
			Type             string `json:"type"`
			Name             string `json:"name"`
			BOMRef           string `json:"bom-ref"`
			CryptoProperties struct {
				AssetType           string `json:"assetType"`
				AlgorithmProperties *struct {
					Primitive string `json:"primitive"`
					Level     int    `json:"nistQuantumSecurityLevel"`
				} `json:"algorithmProperties"`
				ProtocolProperties *struct {
					Type           string   `json:"type"`
					Version        string   `json:"version"`
					CryptoRefArray []string `json:"cryptoRefArray"`
				} `json:"protocolProperties"`
			} `json:"cryptoProperties"`
		} `json:"components"`
		Dependencies []struct {
			Ref       string   `json:"ref"`
			DependsOn []string `json:"dependsOn"`
		} `json:"dependencies"`
	}
	out = scanJSON(t, &bom, "scan", "--format", "cbom", ready)
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.6" {
		t.Errorf("cbom header %s %s", bom.BOMFormat, bom.SpecVersion)
	}
	refs := map[string]bool{}
	var hybrid, proto bool
	for _, c := range bom.Components {
		refs[c.BOMRef] = true
		if c.Type != "cryptographic-asset" {
			t.Errorf("component %s type %s", c.Name, c.Type)
		}
		if c.Name == "X25519MLKEM768" {
			ap := c.CryptoProperties.AlgorithmProperties
			hybrid = ap != nil && ap.Primitive == "kem" && ap.Level == 3
		}
		if pp := c.CryptoProperties.ProtocolProperties; pp != nil {
			proto = pp.Type == "tls" && pp.Version == "1.3" && len(pp.CryptoRefArray) >= 2
		}
	}
	if !hybrid || !proto {
		t.Errorf("cbom lacks the hybrid KEM algorithm (level 3) or the TLS 1.3 protocol asset:\n%s", out)
	}
	for _, d := range bom.Dependencies {
		for _, r := range append(d.DependsOn, d.Ref) {
			if !refs[r] {
				t.Errorf("dependency on unknown bom-ref %s", r)
			}
		}
	}
	// CSV
	code, out, _ = scanCLI(t, "", "scan", "--format", "csv", "--quick", ready)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 2 || rows[0][0] != "endpoint" || rows[1][6] != "pq_ready" {
		t.Errorf("csv: exit %d err %v rows %v", code, err, rows)
	}
	// Output into a missing directory: a usage error (checked before the
	// scan), nothing written.
	missing := filepath.Join(dir, "nope", "out.json")
	if code, _, errOut := scanCLI(t, "", "scan", "--quick", "-o", missing, ready); code != 2 || !strings.Contains(errOut, "nope") {
		t.Errorf("output into a missing dir: exit %d %s", code, errOut)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("leftover files in %s: %v", dir, entries)
	}
	// The table (not a TTY: no colour codes) and the priority list.
	inv := writeFile(t, dir, "fleet.yaml", "endpoints:\n  - target: "+ready+"\n    service: api\n    owner: team-a\n    tags: {data_lifetime: 10y, sensitivity: high}\n")
	code, out, _ = scanCLI(t, "", "scan", "--inventory", inv, "--quick", "--format", " Table", "--color", "NEVER", "--sort", "Priority ", "--progress", "Never")
	if code != 0 || !strings.Contains(out, "VERDICT") || strings.Contains(out, "\x1b[") || !strings.Contains(out, "1 endpoint: 1 pq_ready") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
}

func TestScanCLISortAndQuietStderr(t *testing.T) {
	ready, ca := scanTestServer(t, "prefer")
	classical, _ := scanTestServer(t, "classical")
	inv := writeFile(t, t.TempDir(), "fleet.yaml", "endpoints:\n  - target: "+ready+"\n    service: web\n  - target: "+classical+"\n    service: ledger\n    tags: {data_lifetime: 10y, sensitivity: high}\n")
	code, out, errOut := scanCLI(t, "", "scan", "--ca", ca, "--inventory", inv, "--sort", "priority", "--format", "csv")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q (no progress bar when stderr is not a terminal)", code, errOut)
	}
	rows, _ := csv.NewReader(strings.NewReader(out)).ReadAll()
	prio := slices.Index(scan.CSVHeader, "priority")
	if len(rows) != 3 || rows[1][4] != "ledger" || rows[1][prio] != "critical" || rows[2][4] != "web" {
		t.Errorf("--sort priority: %v", rows)
	}
	code, out, _ = scanCLI(t, "", "scan", "--ca", ca, "--inventory", inv)
	if code != 0 || !strings.Contains(out, "Migrate first") || !strings.Contains(out, "critical 100") || !strings.Contains(out, "[ledger]") {
		t.Errorf("table migrate-first list:\n%s", out)
	}
	if i, j := strings.Index(out, ready), strings.Index(out, classical); i < 0 || j < 0 || i > j {
		t.Errorf("default order must be the input order:\n%s", out)
	}
}

func TestScanCLIUnresolvableNameDoesNotStopTheFleet(t *testing.T) {
	ready, _ := scanTestServer(t, "prefer")
	code, out, errOut := scanCLI(t, "", "scan", "--quick", "--format", "csv", "no-such-host.invalid:443", ready)
	rows, _ := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || len(rows) != 3 || rows[1][6] != "unreachable" || rows[1][7] != "dns" || rows[2][6] != "pq_ready" {
		t.Errorf("exit %d stderr %q rows %v", code, errOut, rows)
	}
}

// TestScanFlagsDocumented checks that docs/SCAN.md lists every flag.
func TestScanFlagsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/SCAN.md")
	if err != nil {
		t.Fatal(err)
	}
	cmd := newScanCmd(streams{})
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !strings.Contains(string(doc), "--"+f.Name) {
			t.Errorf("flag --%s is not documented in docs/SCAN.md", f.Name)
		}
	})
}

// TestScanCLIInterrupt: Ctrl-C during a fleet scan exits promptly with
// status 1, and the report (written atomically) keeps the endpoints that
// finished and marks the others canceled.
func TestScanCLIInterrupt(t *testing.T) {
	ready, _ := scanTestServer(t, "prefer")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan struct{}, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			go func() { defer c.Close(); io.Copy(io.Discard, c) }() // never answers
		}
	}()
	stall := ln.Addr().String()
	out := filepath.Join(t.TempDir(), "scan.json")
	type result struct {
		code         int
		stdout, errs string
	}
	done := make(chan result, 1)
	go func() {
		code, o, e := scanCLI(t, "", "scan", "--format", "json", "-o", out, "--concurrency", "1", "--timeout", "1h", "--retries", "0", ready, stall, stall)
		done <- result{code, o, e}
	}()
	<-accepted // the scan, and its SIGINT handler, are running
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		t.Fatal("pqtls scan did not stop after SIGINT")
	}
	if r.code != 1 || !strings.Contains(r.errs, "interrupted: 1 of 3 endpoints finished") {
		t.Errorf("exit %d, stderr %q", r.code, r.errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no report after an interrupt: %v", err)
	}
	var rep struct {
		Endpoints []struct {
			Verdict string `json:"verdict"`
			Reason  string `json:"reason"`
		} `json:"endpoints"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, b)
	}
	if len(rep.Endpoints) != 3 || rep.Endpoints[0].Verdict != "pq_ready" || rep.Endpoints[1].Reason != "canceled" || rep.Endpoints[2].Reason != "canceled" {
		t.Errorf("endpoints after interrupt: %+v", rep.Endpoints)
	}
}

// TestScanCLIMaxEndpoints: 8 loopback /16 ranges (524,288 endpoints) are
// refused with exit 2 before any connection; the cap counts after --shard.
func TestScanCLIMaxEndpoints(t *testing.T) {
	args := []string{"scan", "--quick", "--timeout", "100ms"}
	for i := range 8 {
		args = append(args, fmt.Sprintf("127.%d.0.0/16:1", i))
	}
	code, out, errOut := scanCLI(t, "", args...)
	if code != 2 || out != "" || !strings.Contains(errOut, "524288 endpoints exceed the limit of 65536") || !strings.Contains(errOut, "--shard") {
		t.Fatalf("exit %d, stdout %d bytes, stderr %q", code, len(out), errOut)
	}
	// 6 endpoints, limit 5: refused unsharded, scanned as 4 shards that
	// together cover each endpoint once.
	srv, _ := scanTestServer(t, "prefer")
	_, port, _ := net.SplitHostPort(srv)
	var eps []string
	for i := 1; i <= 6; i++ {
		eps = append(eps, fmt.Sprintf("127.0.0.%d:%s", i, port))
	}
	base := []string{"scan", "--quick", "--format", "csv", "--max-endpoints", "5"}
	if code, _, errOut := scanCLI(t, "", append(base, eps...)...); code != 2 || !strings.Contains(errOut, "6 endpoints exceed the limit of 5") {
		t.Fatalf("unsharded: exit %d, %s", code, errOut)
	}
	seen := map[string]int{}
	for k := 1; k <= 4; k++ {
		code, out, errOut := scanCLI(t, "", append(append(base, "--shard", fmt.Sprintf("%d/4", k)), eps...)...)
		// Only 127.0.0.1 listens: a shard without it assesses nothing (1).
		if code != 0 && !(code == 1 && strings.Contains(errOut, "no endpoint could be assessed")) {
			t.Fatalf("shard %d/4: exit %d: %s", k, code, errOut)
		}
		rows, _ := csv.NewReader(strings.NewReader(out)).ReadAll()
		for _, r := range rows[1:] {
			seen[r[1]]++
		}
	}
	for _, ep := range eps {
		if seen[ep] != 1 {
			t.Errorf("%s scanned by %d shards", ep, seen[ep])
		}
	}
}

// TestScanCLIOutputRefusedFirst: an -o path that cannot take the report (a
// directory, a missing directory, a FIFO without reader) is exit 2 before
// any endpoint is scanned, not a lost report after a long scan.
func TestScanCLIOutputRefusedFirst(t *testing.T) {
	addr, conns := countingListener(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ out, want string }{
		{dir, "is a directory"},
		{filepath.Join(dir, "missing-dir", "scan.json"), "does not exist"},
		{fifo, "FIFO with no reader"},
	} {
		code, out, errOut := scanCLI(t, "", "scan", "--quick", "-o", tc.out, addr)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("-o %s: exit %d, stderr %q; want exit 2 saying %q", tc.out, code, errOut, tc.want)
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Errorf("the directory given to -o: %v %v", st, err)
	}
	if n := len(conns); n != 0 {
		t.Errorf("%d connections made before the output was refused", n)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left behind: %v", entries)
	}
}

// TestScanCLIOutputKeepsSpecialFiles: -o to a device or a symlink writes
// through it and never replaces the node or the link by a regular file
// (the defect replaced a machine's /dev/stdout).
func TestScanCLIOutputKeepsSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	// A symlink to a regular file: the target is replaced atomically, its
	// mode kept; the link stays a link.
	target := filepath.Join(dir, "report.csv")
	os.WriteFile(target, []byte("old"), 0o600)
	link := filepath.Join(dir, "latest.csv")
	if err := os.Symlink("report.csv", link); err != nil {
		t.Fatal(err)
	}
	srv, _ := scanTestServer(t, "prefer")
	if code, _, errOut := scanCLI(t, "", "scan", "--quick", "--format", "csv", "-o", link, srv); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", st, err)
	}
	b, _ := os.ReadFile(target)
	st, _ := os.Stat(target)
	if !strings.HasPrefix(string(b), "endpoint,address") || st.Mode().Perm() != 0o600 {
		t.Errorf("target: mode %v, content %q", st.Mode(), b)
	}
	// A character device made with mknod (root): written in place.
	if os.Geteuid() != 0 {
		t.Log("not root: mknod case skipped")
		return
	}
	null := filepath.Join(dir, "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatalf("mknod: %v", err)
	}
	if code, out, errOut := scanCLI(t, "", "scan", "--quick", "-o", null, srv); code != 0 || out != "" {
		t.Fatalf("-o device: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if st, err := os.Lstat(null); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the device node was replaced: %v %v", st.Mode(), err)
	}
}

// TestScanCLIOutputProcSelfFd: -o through a symlink to /proc/self/fd/1,
// with standard output a pipe (the real binary, re-executed): the report
// goes down the pipe and the link stays.
func TestScanCLIOutputProcSelfFd(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pqtls")
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "out")
	if err := os.Symlink("/proc/self/fd/1", link); err != nil {
		t.Fatal(err)
	}
	srv, _ := scanTestServer(t, "prefer")
	cmd := exec.Command(bin, "scan", "--quick", "--format", "csv", "-o", link, srv)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "endpoint,address") || !strings.Contains(stdout.String(), srv) {
		t.Errorf("stdout %q", stdout.String())
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
}

// TestScanCLIShardsMergeDiff: a fleet scanned as 2 shards and merged equals
// the fleet scanned at once; diff against an older report sorts the
// changes and --fail-on turns a category into exit 1.
func TestScanCLIShardsMergeDiff(t *testing.T) {
	var eps []string
	for _, mode := range []string{"prefer", "prefer", "classical", "classical"} {
		a, _ := scanTestServer(t, mode)
		eps = append(eps, a)
	}
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	for k := 1; k <= 2; k++ {
		args := append([]string{"scan", "--quick", "--format", "json", "--shard", fmt.Sprintf("%d/2", k), "-o", path(fmt.Sprintf("s%d.json", k))}, eps...)
		if code, _, errOut := scanCLI(t, "", args...); code != 0 {
			t.Fatalf("shard %d: exit %d: %s", k, code, errOut)
		}
	}
	if code, _, errOut := scanCLI(t, "", "scan", "merge", path("s1.json"), path("s2.json"), "-o", path("fleet.json")); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errOut)
	}
	var fleet struct {
		Summary   reportSummary `json:"summary"`
		Endpoints []struct {
			Address   string    `json:"address"`
			Source    string    `json:"source"`
			ScannedAt time.Time `json:"scanned_at"`
		} `json:"endpoints"`
	}
	b, _ := os.ReadFile(path("fleet.json"))
	if err := json.Unmarshal(b, &fleet); err != nil {
		t.Fatal(err)
	}
	if fleet.Summary.Endpoints != 4 || fleet.Summary.Verdicts["pq_ready"] != 2 || fleet.Summary.Verdicts["classical"] != 2 || len(fleet.Endpoints) != 4 {
		t.Fatalf("merged summary %+v", fleet.Summary)
	}
	got := map[string]bool{}
	for _, e := range fleet.Endpoints {
		got[e.Address] = true
		if e.ScannedAt.IsZero() || (e.Source != path("s1.json") && e.Source != path("s2.json")) {
			t.Errorf("endpoint %+v", e)
		}
	}
	for _, ep := range eps {
		if !got[ep] {
			t.Errorf("%s missing from the merged report", ep)
		}
	}

	// Last week: everything classical, and an endpoint since gone.
	old := strings.ReplaceAll(string(b), `"pq_ready"`, `"classical"`)
	old = strings.Replace(old, `"endpoints": [`, `"endpoints": [{"address": "127.0.0.1:1", "starttls": "none", "verdict": "classical", "target": {}}, `, 1)
	writeFile(t, dir, "old.json", old)
	code, out, errOut := scanCLI(t, "", "scan", "diff", "--fail-on", "regressed", path("old.json"), path("fleet.json"))
	if code != 0 || !strings.Contains(out, "2 newly_hybrid, 0 regressed, 0 new, 1 gone, 2 unchanged, 0 errored") || !strings.Contains(out, "classical -> pq_ready") {
		t.Fatalf("diff: exit %d, stdout %s, stderr %s", code, out, errOut)
	}
	code, _, errOut = scanCLI(t, "", "scan", "diff", "--fail-on", "Gone,regressed", path("old.json"), path("fleet.json"))
	if code != 1 || !strings.Contains(errOut, "1 endpoint gone") {
		t.Errorf("--fail-on gone: exit %d, %s", code, errOut)
	}
	code, out, _ = scanCLI(t, "", "scan", "diff", "--format", "json", path("fleet.json"), path("old.json"))
	var d struct {
		Schema string         `json:"schema"`
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(out), &d); code != 0 || err != nil || d.Schema != "pqtls.scan-diff/v1" || d.Counts["regressed"] != 2 || d.Counts["new"] != 1 {
		t.Errorf("diff json: exit %d, %v %+v", code, err, d)
	}
	writeFile(t, dir, "bad.json", `{"schema":"other"}`)
	for _, args := range [][]string{
		{"scan", "diff", "--fail-on", "worse", path("old.json"), path("fleet.json")},
		{"scan", "diff", path("old.json"), path("missing.json")},
		{"scan", "diff", path("old.json"), path("bad.json")},
		{"scan", "diff", "--format", "pdf", path("old.json"), path("fleet.json")},
		{"scan", "diff", path("old.json")},
		{"scan", "merge", path("s1.json"), path("bad.json")},
		{"scan", "merge", path("s1.json"), "-o", dir},
	} {
		if code, out, errOut := scanCLI(t, "", args...); code != 2 || out != "" || errOut == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2", args[1:], code, out, errOut)
		}
	}
}

// TestScanKubernetesCronJob runs the shell scripts of
// deploy/kubernetes/scan-cronjob.yaml with the real binary: the N indexed
// shard pods, then the merge pod, on a loopback fleet; the merged report
// covers every endpoint once, and a second night's merge writes the diff.
func TestScanKubernetesCronJob(t *testing.T) {
	src, err := os.ReadFile("../../deploy/kubernetes/scan-cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type container struct {
		Env  []struct{ Name, Value string } `yaml:"env"`
		Args []string                       `yaml:"args"`
	}
	scripts := map[string]container{}
	completions := 0
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var doc struct {
			Kind     string `yaml:"kind"`
			Metadata struct{ Name string }
			Spec     struct {
				JobTemplate struct {
					Spec struct {
						CompletionMode string `yaml:"completionMode"`
						Completions    int    `yaml:"completions"`
						Template       struct {
							Spec struct{ Containers []container }
						}
					}
				} `yaml:"jobTemplate"`
			}
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("manifest is not valid YAML: %v", err)
		}
		if doc.Kind == "CronJob" {
			js := doc.Spec.JobTemplate.Spec
			scripts[doc.Metadata.Name] = js.Template.Spec.Containers[0]
			if js.CompletionMode == "Indexed" {
				completions = js.Completions
			}
		}
	}
	shards, merge := scripts["pqtls-scan-shards"], scripts["pqtls-scan-merge"]
	if completions < 2 || len(shards.Args) != 1 || len(merge.Args) != 1 || !strings.Contains(shards.Args[0], `--shard "$((JOB_COMPLETION_INDEX+1))/$N"`) ||
		shards.Env[0].Value != strconv.Itoa(completions) || merge.Env[0].Value != strconv.Itoa(completions) {
		t.Fatalf("manifest: completions %d, scripts %+v", completions, scripts)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	os.Mkdir(bin, 0o755)
	if err := os.Symlink(exe, filepath.Join(bin, "pqtls")); err != nil {
		t.Fatal(err)
	}
	var eps []string
	for _, mode := range []string{"prefer", "classical", "prefer", "classical", "prefer"} {
		a, _ := scanTestServer(t, mode)
		eps = append(eps, a)
	}
	etc, reports := filepath.Join(root, "etc"), filepath.Join(root, "reports")
	writeFile(t, etc, "fleet.txt", strings.Join(eps, "\n")+"\n")
	sh := func(script string, env ...string) (string, error) {
		script = strings.NewReplacer("/etc/pqtls", etc, "/reports", reports).Replace(script)
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "N=" + strconv.Itoa(completions)}, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for i := range completions {
		if out, err := sh(shards.Args[0], fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)); err != nil {
			t.Fatalf("shard pod %d: %v\n%s", i, err, out)
		}
	}
	if out, err := sh(merge.Args[0]); err != nil {
		t.Fatalf("merge pod: %v\n%s", err, out)
	}
	day := time.Now().UTC().Format("2006-01-02")
	rep, err := scan.ReadReport(filepath.Join(reports, day, "fleet.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range rep.Endpoints {
		seen[e.Address]++
	}
	for _, ep := range eps {
		if seen[ep] != 1 {
			t.Errorf("%s: %d times in the merged report", ep, seen[ep])
		}
	}
	// The previous night had every endpoint classical: tonight's merge
	// writes the diff (newly_hybrid, no regression, exit 0).
	b, _ := os.ReadFile(filepath.Join(reports, day, "fleet.json"))
	writeFile(t, filepath.Join(reports, "2000-01-01"), "fleet.json", strings.ReplaceAll(string(b), `"pq_ready"`, `"classical"`))
	if out, err := sh(merge.Args[0]); err != nil {
		t.Fatalf("merge pod with a previous night: %v\n%s", err, out)
	}
	diff, _ := os.ReadFile(filepath.Join(reports, day, "diff.txt"))
	if !strings.Contains(string(diff), "3 newly_hybrid, 0 regressed") {
		t.Errorf("diff.txt: %s", diff)
	}
	if _, err := os.Stat(filepath.Join(reports, day, "diff.html")); err != nil {
		t.Error(err)
	}
}

// TestScanCLIExitWhenNothingAssessed: a single target that is down is
// exit 1 (with the report written and the cause on stderr); the same
// endpoint in a fleet with an assessed one is a finding, exit 0.
func TestScanCLIExitWhenNothingAssessed(t *testing.T) {
	down, _ := countingListener(t) // accepts and closes: reset
	code, out, errOut := scanCLI(t, "", "scan", "--quick", "--format", "csv", "127.0.0.1:1")
	if code != 1 || !strings.Contains(out, "127.0.0.1:1,") || !strings.Contains(errOut, "no endpoint could be assessed (127.0.0.1:1: unreachable, connection_refused)") {
		t.Errorf("single unreachable target: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	ready, _ := scanTestServer(t, "prefer")
	if code, _, errOut := scanCLI(t, "", "scan", "--quick", "127.0.0.1:1", down, ready); code != 0 {
		t.Errorf("fleet with one assessed endpoint: exit %d, %s", code, errOut)
	}
	if code, _, _ := scanCLI(t, "", "scan", "--quick", "--fail-on", "error", "127.0.0.1:1", ready); code != 1 {
		t.Errorf("--fail-on error: exit %d", code)
	}
}

// TestScanShardScale (PQTLS_SCALE_ENDPOINTS=10000 go test -run
// TestScanShardScale ./cmd/pqtls -v) scans N loopback endpoints (listeners
// on 127.0.0.1-100, alternately hybrid and classical) once with one
// process and once as 4 shard processes of the real binary run side by
// side, merges the shards and checks the merged report equals the single
// run endpoint by endpoint. It logs both wall times (docs/PERFORMANCE.md).
func TestScanShardScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PQTLS_SCALE_ENDPOINTS"))
	if n == 0 {
		t.Skip("set PQTLS_SCALE_ENDPOINTS (e.g. 10000)")
	}
	cfgs := map[string]*tls.Config{}
	for _, mode := range []string{"prefer", "classical"} {
		cfgs[mode], _ = scanServerConfig(t, mode)
	}
	var fleet []string
	for i := range n {
		mode := "prefer"
		if i%2 == 1 {
			mode = "classical"
		}
		ln, err := tls.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", 1+i%100), cfgs[mode])
		if err != nil {
			t.Fatalf("listener %d: %v", i, err)
		}
		testpeer.Serve(t, ln, 10*time.Second, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		fleet = append(fleet, ln.Addr().String())
	}
	dir := t.TempDir()
	fleetFile := filepath.Join(dir, "fleet.txt")
	os.WriteFile(fleetFile, []byte(strings.Join(fleet, "\n")+"\n"), 0o644)
	exe, _ := os.Executable()
	bin := filepath.Join(dir, "pqtls")
	os.Symlink(exe, bin)
	runBin := func(args ...string) error {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %v: %s", args, err, out)
		}
		return nil
	}
	base := []string{"scan", "--quick", "--timeout", "30s", "--progress", "never", "--format", "json", "-f", fleetFile}
	start := time.Now()
	if err := runBin(append(base, "-o", filepath.Join(dir, "one.json"))...); err != nil {
		t.Fatal(err)
	}
	oneTime := time.Since(start)
	start = time.Now()
	errs := make(chan error, 4)
	for k := 1; k <= 4; k++ {
		go func() {
			errs <- runBin(append(base, "--shard", fmt.Sprintf("%d/4", k), "-o", filepath.Join(dir, fmt.Sprintf("s%d.json", k)))...)
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	shardTime := time.Since(start)
	args := []string{"scan", "merge", "-o", filepath.Join(dir, "merged.json")}
	for k := 1; k <= 4; k++ {
		args = append(args, filepath.Join(dir, fmt.Sprintf("s%d.json", k)))
	}
	if err := runBin(args...); err != nil {
		t.Fatal(err)
	}
	one, err := scan.ReadReport(filepath.Join(dir, "one.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := scan.ReadReport(filepath.Join(dir, "merged.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[scan.EndpointKey]scan.Verdict{}
	for _, r := range one.Endpoints {
		want[r.Key()] = r.Verdict
	}
	mismatch := 0
	for _, r := range merged.Endpoints {
		if want[r.Key()] != r.Verdict {
			mismatch++
		}
		delete(want, r.Key())
	}
	if len(merged.Endpoints) != n || len(want) != 0 || mismatch != 0 || merged.Summary.Verdicts["pq_ready"] != n/2+n%2 || merged.Summary.Verdicts["classical"] != n/2 {
		t.Errorf("merged: %d endpoints, %d missing, %d verdicts differ, summary %v", len(merged.Endpoints), len(want), mismatch, merged.Summary.Verdicts)
	}
	t.Logf("%d endpoints: one process %s, 4 shards side by side %s (ratio %.2f); merged report: %d endpoints, %d pq_ready, %d classical, %d differences from the single run",
		n, oneTime.Round(time.Millisecond), shardTime.Round(time.Millisecond), shardTime.Seconds()/oneTime.Seconds(), len(merged.Endpoints),
		merged.Summary.Verdicts["pq_ready"], merged.Summary.Verdicts["classical"], mismatch+len(want))
}
