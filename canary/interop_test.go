package canary

import (
	"strings"
	"testing"
	"time"
)

func TestInteropNodeHybridServer(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test: needs Node.js 26")
	}
	addr := startNode(t, "127.0.0.1")
	rep := run(t, Options{Target: addr, Count: 3})
	if rep.Verdict.Code != VerdictOK || !rep.Verdict.Safe {
		t.Fatalf("verdict = %+v", rep.Verdict)
	}
	for _, name := range []string{CaseHybrid, CaseHybridSplitTCP, CaseHybridSplitRecord, CaseFullHybrid} {
		if c := caseOf(t, rep, name); c.SelectedGroup != "X25519MLKEM768" || c.OK != 3 {
			t.Errorf("%s: %d/3 ok, group %q, classes %v", name, c.OK, c.SelectedGroup, c.Classes)
		}
	}
	if c := caseOf(t, rep, CaseFullClassical); c.SelectedGroup != "x25519" {
		t.Errorf("classical handshake negotiated %q", c.SelectedGroup)
	}
	if rep.Verdict.Cost == nil || rep.Verdict.Cost.ExtraBytes < 2000 {
		t.Errorf("cost %+v", rep.Verdict.Cost)
	}
	t.Logf("Node 26: %s", rep.Verdict.Summary)
	for _, c := range rep.Cases {
		t.Logf("%-22s %d/%d %-20s p50 %.2f ms hrr %d", c.Name, c.OK, c.Attempts, c.SelectedGroup, c.Latency.P50, c.HelloRetries)
	}
}

func TestInteropNginxClassicalServer(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test: needs nginx")
	}
	addr := startNginx(t)
	rep := run(t, Options{Target: addr, Count: 2})
	if rep.Verdict.Code != VerdictHybridUnavailable || !rep.Verdict.Safe {
		t.Fatalf("verdict = %+v, want hybrid_unavailable", rep.Verdict)
	}
	if !strings.Contains(rep.Verdict.Summary, "hybrid not available on this server") || !strings.Contains(rep.Verdict.Summary, "path carried the hybrid ClientHellos fine") {
		t.Errorf("summary %q", rep.Verdict.Summary)
	}
	for _, c := range rep.Cases {
		if c.Critical && c.OK != c.Attempts {
			t.Errorf("%s: %v %v", c.Name, c.Classes, c.Errors)
		}
	}
	if c := caseOf(t, rep, CaseFullHybrid); c.SelectedKind != "classical" {
		t.Errorf("nginx negotiated %s (%s) for the hybrid handshake", c.SelectedGroup, c.SelectedKind)
	}
	t.Logf("nginx: %s", rep.Verdict.Summary)
}

func TestInteropPostgresStartTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test: needs PostgreSQL")
	}
	addr := startPostgres(t)
	rep := run(t, Options{Target: addr, StartTLS: "postgres", Count: 2})
	// PostgreSQL 15 on Debian: OpenSSL 3.0 and ssl_ecdh_curve = prime256v1.
	if rep.Verdict.Code != VerdictHybridUnavailable {
		t.Fatalf("verdict = %+v", rep.Verdict)
	}
	for _, c := range rep.Cases {
		if c.Critical && c.OK != c.Attempts {
			t.Errorf("%s: %v %v", c.Name, c.Classes, c.Errors)
		}
	}
	t.Logf("PostgreSQL: [%s] %s", rep.Verdict.Code, rep.Verdict.Summary)
	// Without --starttls postgres the server does not speak TLS first.
	plain := run(t, Options{Target: addr, Count: 1, Timeout: time.Second, Cases: []string{CaseHybrid}})
	if plain.Verdict.Code != VerdictUnreachable {
		t.Errorf("without STARTTLS: verdict %+v", plain.Verdict)
	}
}
