package demo

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/canary"
	"github.com/pqtls/pqtls/scan"
)

func TestMeasureMatrix(t *testing.T) {
	r, err := Measure(context.Background(), Options{Handshakes: 3})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		group  tls.CurveID
		policy bool // refused by the client's policy
		failed bool // refused by the server
	}
	expect := map[[2]string]want{
		{"prefer (default)", "prefer (default)"}:  {group: tls.X25519MLKEM768},
		{"prefer (default)", "classical-only"}:    {group: tls.X25519},
		{"prefer (default)", "require"}:           {group: tls.X25519MLKEM768},
		{"classical-only", "prefer (default)"}:    {group: tls.X25519},
		{"classical-only", "require"}:             {failed: true},
		{"require", "classical-only"}:             {policy: true},
		{"require", "require"}:                    {group: tls.X25519MLKEM768},
		{"P-256 hybrid only", "prefer (default)"}: {group: tls.SecP256r1MLKEM768},
		{"P-384 hybrid only", "prefer (default)"}: {group: tls.SecP384r1MLKEM1024},
	}
	seen := 0
	for _, p := range r.Pairs {
		w, ok := expect[[2]string{p.Client, p.Server}]
		if !ok {
			continue
		}
		seen++
		var perr *pqtls.PolicyError
		switch {
		case w.policy:
			if !errors.As(p.Err, &perr) {
				t.Errorf("%s -> %s: want a client policy refusal, got %v", p.Client, p.Server, p.Err)
			}
		case w.failed:
			if p.Err == nil || pqtls.ErrorReason(p.Err) != "alert_handshake_failure" {
				t.Errorf("%s -> %s: want handshake_failure, got %v", p.Client, p.Server, p.Err)
			}
		default:
			if p.Err != nil || p.Group != w.group {
				t.Errorf("%s -> %s: got %v %v, want %v", p.Client, p.Server, pqtls.GroupName(p.Group), p.Err, pqtls.GroupName(w.group))
			}
		}
	}
	if seen != len(expect) {
		t.Errorf("saw %d of %d expected pairs", seen, len(expect))
	}
	// ClientHello sizes: the hybrid one spans two 1460-byte segments.
	if n := r.Flights["prefer (default)"].ClientHello; n < 1400 || n > 1700 {
		t.Errorf("prefer ClientHello %d B, want about 1.5 KB", n)
	}
	if n := r.Flights["classical-only"].ClientHello; n < 150 || n > 400 {
		t.Errorf("classical ClientHello %d B, want about 250 B", n)
	}
	// The server's first flight is the whole flight (certificate included),
	// not the first read(): the hybrid one carries the 1088-byte ML-KEM
	// ciphertext instead of a 32-byte X25519 share.
	hy, cl := r.Flights["prefer (default)"], r.Flights["classical-only"]
	if cl.ServerFlight < 600 || hy.ServerFlight-cl.ServerFlight < 1000 || hy.Failed || cl.Failed {
		t.Errorf("server's first flight: hybrid %d B, classical %d B; want the whole flight, hybrid about 1 KB larger", hy.ServerFlight, cl.ServerFlight)
	}
	// SecP384r1MLKEM1024: a 1665-byte client share and a 1665-byte
	// server share, larger flights than X25519MLKEM768's both ways.
	if f := r.Flights["P-384 hybrid only"]; f.Failed || f.ClientHello <= hy.ClientHello || f.ServerFlight <= hy.ServerFlight {
		t.Errorf("P-384-only client vs prefer server: %+v, want larger flights than %+v", f, hy)
	}
	c := r.Cost
	if c == nil || c.Handshakes < MinHandshakes || c.Warmup != Warmup || c.Hybrid.Latency.Samples != c.Handshakes || c.Classical.Latency.Samples != c.Handshakes {
		t.Fatalf("cost measurement %+v: want %d measured handshakes per case after %d warm-up", c, MinHandshakes, Warmup)
	}
	for _, cc := range []CaseCost{c.Hybrid, c.Classical} {
		if l := cc.Latency; l.P25 <= 0 || l.P25 > l.P50 || l.P50 > l.P75 {
			t.Errorf("%s latency %+v: want 0 < p25 <= p50 <= p75", cc.Client, l)
		}
	}
	if c.Hybrid.Group != tls.X25519MLKEM768 || c.Classical.Group != tls.X25519 || c.Hybrid.Bytes != hy || c.Classical.Bytes != cl {
		t.Errorf("cost cases: hybrid %+v, classical %+v", c.Hybrid, c.Classical)
	}
	if !strings.Contains(r.ServerLog, "refused classical-only client") {
		t.Errorf("no server log line for the refused client: %q", r.ServerLog)
	}
	for _, want := range []string{
		`tls_handshake_group_total{group="x25519_mlkem768",kind="hybrid",role="server"}`,
		`tls_handshake_errors_total{reason="policy_classical_peer",role="server"} 1`,
	} {
		if !strings.Contains(r.MetricsText, want) {
			t.Errorf("metrics lack %s:\n%s", want, r.MetricsText)
		}
	}
	wantVerdicts := []scan.Verdict{scan.VerdictPQReady, scan.VerdictClassical, scan.VerdictPQReady}
	if len(r.Scans) != len(wantVerdicts) {
		t.Fatalf("%d scan results", len(r.Scans))
	}
	for i, sr := range r.Scans {
		if sr.Verdict != wantVerdicts[i] {
			t.Errorf("scan of %s: verdict %s (%s), want %s", sr.Target.Service, sr.Verdict, sr.Reason, wantVerdicts[i])
		}
	}
	if !r.Scans[2].HasGroup(tls.X25519MLKEM768) || r.Scans[2].HasGroup(tls.X25519) {
		t.Errorf("require server groups %v: want hybrids only", r.Scans[2].GroupNames())
	}
	for name, want := range map[string]string{"prefer (default)": canary.VerdictOK, "classical-only": canary.VerdictHybridUnavailable, "require": canary.VerdictOK} {
		if got := r.Canary[name].Code; got != want {
			t.Errorf("canary verdict for %s = %q (%s), want %q", name, got, r.Canary[name].Summary, want)
		}
	}
	if r.Tunnel == nil || !strings.Contains(r.Tunnel.Reply, `legacy service got "SELECT balance FROM accounts"`) {
		t.Fatalf("tunnel reply %+v", r.Tunnel)
	}
	tm := strings.Join(r.Tunnel.Metrics, "\n")
	for _, role := range []string{"server", "client"} {
		if !strings.Contains(tm, `group="x25519_mlkem768",kind="hybrid",role="`+role+`"} 1`) {
			t.Errorf("tunnel %s did not count one hybrid handshake:\n%s", role, tm)
		}
	}
	var out bytes.Buffer
	Print(&out, r)
	text := out.String()
	for _, want := range []string{"X25519MLKEM768 hybrid", "refused by server", "refused by client", "spans packets", "Hybrid cost",
		"ClientHello (client's first flight)", "whole handshake, both directions", "interquartile range", "IQR"} {
		if !strings.Contains(text, want) {
			t.Errorf("printed report lacks %q", want)
		}
	}
	// No hint to scan a port that is gone when the demo exits.
	if strings.Contains(text, "pqtls scan 127.0.0.1") {
		t.Errorf("printed report tells the user to scan an ephemeral demo port:\n%s", text)
	}
	// One cost figure: the canary lines of the prefer and the require
	// server quote the measurement of section 3.
	for _, line := range strings.Split(text, "\n") {
		for _, srv := range []string{"prefer (default)", "require"} {
			if strings.HasPrefix(strings.TrimSpace(line), srv) && strings.Contains(line, " ok ") && !strings.Contains(line, c.String()) {
				t.Errorf("canary line for %s does not quote the one cost measurement %q:\n%s", srv, c.String(), line)
			}
		}
	}
	if n := strings.Count(text, c.String()); n != 2 {
		t.Errorf("the cost figure appears %d times, want the two canary ok lines", n)
	}
}
