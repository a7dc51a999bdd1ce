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
		{"P-384 hybrid only", "prefer (default)"}: {policy: true},
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
			if p.Err != nil || p.Group != w.group || p.P50 <= 0 {
				t.Errorf("%s -> %s: got %v %v, want %v", p.Client, p.Server, pqtls.GroupName(p.Group), p.Err, pqtls.GroupName(w.group))
			}
		}
	}
	if seen != len(expect) {
		t.Errorf("saw %d of %d expected pairs", seen, len(expect))
	}
	// ClientHello sizes: the hybrid one spans two 1460-byte segments.
	if n := r.HelloSizes["prefer (default)"]; n < 1400 || n > 1700 {
		t.Errorf("prefer ClientHello %d B, want about 1.5 KB", n)
	}
	if n := r.HelloSizes["classical-only"]; n < 150 || n > 400 {
		t.Errorf("classical ClientHello %d B, want about 250 B", n)
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
	for _, want := range []string{"X25519MLKEM768 hybrid", "refused by server", "refused by client", "spans packets", "Hybrid cost"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed report lacks %q", want)
		}
	}
}
