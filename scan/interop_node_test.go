package scan

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

// nodeBin is the Node.js 26 (OpenSSL 3.5) used as the hybrid-capable peer
// (found by internal/testpeer; missing: skip, or fail with
// PQTLS_REQUIRE_PEERS=1).
func nodeBin(tb testing.TB) string {
	tb.Helper()
	p, err := testpeer.NodePath()
	if err != nil {
		testpeer.Missing(tb, testpeer.PeerNode, err)
	}
	return p
}

// nodeServerSpec configures one group of Node TLS servers.
type nodeServerSpec struct {
	ECDHCurve  string `json:"ecdhCurve,omitempty"`
	MaxVersion string `json:"maxVersion,omitempty"`
	MinVersion string `json:"minVersion,omitempty"`
	Ciphers    string `json:"ciphers,omitempty"`
	Count      int    `json:"count,omitempty"`
}

// startNodeServers starts one Node process serving every spec and returns
// the ports, one slice per spec.
func startNodeServers(tb testing.TB, cert *testCert, specs ...nodeServerSpec) [][]int {
	tb.Helper()
	ports, _ := startNodeServersCmd(tb, cert, specs...)
	return ports
}

// startNodeServersCmd is startNodeServers that also returns the process.
func startNodeServersCmd(tb testing.TB, cert *testCert, specs ...nodeServerSpec) ([][]int, *exec.Cmd) {
	tb.Helper()
	node := nodeBin(tb)
	cfg, _ := json.Marshal(map[string]any{"key": cert.keyFile, "cert": cert.certFile, "servers": specs})
	cmd := exec.Command(node, "testdata/tlsservers.js", string(cfg))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l, ok := <-lines:
		if !ok {
			tb.Fatal("node servers exited before listening")
		}
		var ports [][]int
		if err := json.Unmarshal([]byte(l), &ports); err != nil {
			tb.Fatalf("node output %q: %v", l, err)
		}
		return ports, cmd
	case <-time.After(60 * time.Second):
		tb.Fatal("node servers did not start within 60s")
	}
	return nil, nil
}

// TestInteropNodeGroups scans Node.js 26 (OpenSSL 3.5) servers configured
// with different ecdhCurve lists: the scanner must report exactly the
// configured TLS 1.3 groups, in the configured (server) order.
func TestInteropNodeGroups(t *testing.T) {
	testpeer.Require(t, testpeer.PeerNode)
	cert := newTestCert(t)
	cases := []struct {
		name    string
		spec    nodeServerSpec
		groups  []string // exact, in server order
		verdict Verdict
		tls12   []string // TLS 1.2 curves expected to include
	}{
		{"default", nodeServerSpec{}, []string{"X25519MLKEM768", "x25519", "secp256r1", "x448", "secp384r1", "secp521r1", "ffdhe2048", "ffdhe3072"}, VerdictPQReady, []string{"x25519"}},
		{"hybrids", nodeServerSpec{ECDHCurve: "SecP256r1MLKEM768:X25519MLKEM768:SecP384r1MLKEM1024"}, []string{"SecP256r1MLKEM768", "X25519MLKEM768", "SecP384r1MLKEM1024"}, VerdictPQReady, nil},
		{"mlkem", nodeServerSpec{ECDHCurve: "MLKEM768:MLKEM1024"}, []string{"MLKEM768", "MLKEM1024"}, VerdictPQCapable, nil},
		{"classical", nodeServerSpec{ECDHCurve: "P-384:X25519:P-256"}, []string{"secp384r1", "x25519", "secp256r1"}, VerdictClassical, []string{"secp384r1"}},
		{"classical-first", nodeServerSpec{ECDHCurve: "X25519:X25519MLKEM768"}, []string{"x25519", "X25519MLKEM768"}, VerdictPQCapable, nil},
		{"tls12", nodeServerSpec{MaxVersion: "TLSv1.2"}, []string{}, VerdictTLS12Only, []string{"x25519", "secp256r1"}},
		{"p384mlkem1024", nodeServerSpec{ECDHCurve: "SecP384r1MLKEM1024"}, []string{"SecP384r1MLKEM1024"}, VerdictPQReady, nil},
		{"legacy", nodeServerSpec{MinVersion: "TLSv1", Ciphers: "DEFAULT:@SECLEVEL=0", ECDHCurve: "X25519MLKEM768:X25519"}, []string{"X25519MLKEM768", "x25519"}, VerdictPQReady, []string{"x25519"}},
	}
	specs := make([]nodeServerSpec, len(cases))
	for i, c := range cases {
		specs[i] = c.spec
	}
	ports := startNodeServers(t, cert, specs...)
	var targets []Target
	for i := range cases {
		targets = append(targets, Target{Input: cases[i].name, Host: "127.0.0.1", IP: "127.0.0.1", Port: ports[i][0], ServerName: "localhost"})
	}
	res := ScanAll(context.Background(), targets, Options{Enumerate: true, Timeout: 5 * time.Second, RootCAs: cert.pool, PerHost: -1})
	for i, c := range cases {
		r := res[i]
		t.Run(c.name, func(t *testing.T) {
			if !slices.Equal(r.GroupNames(), c.groups) {
				t.Errorf("groups %v, want exactly %v (in server order)", r.GroupNames(), c.groups)
			}
			if !slices.Equal(r.ServerPreference, c.groups) {
				t.Errorf("server preference %v, want %v", r.ServerPreference, c.groups)
			}
			if len(c.groups) >= 2 && r.GroupOrder != "server" {
				t.Errorf("group order %q, want server", r.GroupOrder)
			}
			if c.name == "default" && r.Connections != 20 {
				t.Errorf("%d connections, docs/SCAN.md says 20 against Node's defaults", r.Connections)
			}
			if r.Verdict != c.verdict {
				t.Errorf("verdict %s (%s), want %s", r.Verdict, r.Reason, c.verdict)
			}
			for _, g := range r.Groups {
				// ffdhe groups are HRR-validated only (no second hello).
				info, _ := pqtls.LookupGroup(tls.CurveID(g.ID))
				unconfirmedOK := g.Confirmed == nil && info.Family == pqtls.FamilyFFDHE
				if !g.HelloRetry || !unconfirmedOK && (g.Confirmed == nil || !*g.Confirmed) {
					t.Errorf("group %s: hrr=%v confirmed=%v %s", g.Name, g.HelloRetry, g.Confirmed, g.ConfirmError)
				}
			}
			for _, cv := range c.tls12 {
				if !slices.Contains(r.TLS12Curves, cv) {
					t.Errorf("TLS 1.2 curves %v lack %s", r.TLS12Curves, cv)
				}
			}
			if c.name == "default" && !noted(r, "down to the ECDSA certificate's curve (secp256r1)") {
				t.Errorf("TLS 1.2 walk stopped at the certificate curve without saying so: %v", r.Notes)
			}
			has13 := slices.Contains(r.Versions, "TLS 1.3")
			if has13 != (len(c.groups) > 0) || !slices.Contains(r.Versions, "TLS 1.2") && c.name != "mlkem" && c.name != "hybrids" && c.name != "p384mlkem1024" {
				t.Errorf("versions %v", r.Versions)
			}
			legacy := slices.Contains(r.Versions, "TLS 1.0") && slices.Contains(r.Versions, "TLS 1.1")
			if c.name == "legacy" {
				if !legacy || !noted(r, "legacy TLS 1.0/1.1") {
					t.Errorf("minVersion TLSv1 server: versions %v notes %v", r.Versions, r.Notes)
				}
			} else if slices.Contains(r.Versions, "TLS 1.0") || slices.Contains(r.Versions, "TLS 1.1") {
				t.Errorf("Node 26 does not enable TLS 1.0/1.1 by default, scan says %v", r.Versions)
			}
			if c.verdict != VerdictPQCapable || c.name != "mlkem" {
				if len(r.Certificates) != 1 || !r.ChainVerified {
					t.Errorf("certificate chain: %+v verified=%v %s", r.Certificates, r.ChainVerified, r.VerifyError)
				}
			}
			t.Logf("%s: %s groups=%v tls12=%v versions=%v conns=%d %.0fms", c.name, r.Verdict, r.GroupNames(), r.TLS12Curves, r.Versions, r.Connections, r.DurationMS)
		})
	}
	// Cross-check: offering each group alone finds nothing the walk missed.
	ex, err := ScanOne(context.Background(), targets[1], Options{Enumerate: true, Exhaustive: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ex.GroupNames(), cases[1].groups) {
		t.Errorf("exhaustive scan found %v, walk %v", ex.GroupNames(), cases[1].groups)
	}
}
