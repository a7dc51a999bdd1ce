package canary

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
)

func TestInteropNodeHybridServer(t *testing.T) {
	node := testpeer.NodeServer(t, testpeer.NodeServerOptions{})
	// --ca: the full handshakes verify the certificate this time.
	rep := run(t, Options{Target: node.Addr, Count: 3, RootCAs: node.CA.Pool()})
	wantVerdict(t, rep, VerdictOK, true)
	for _, name := range []string{CaseHybrid, CaseHybridSplitTCP, CaseHybridSplitRecord, CaseHybridHRR, CaseFullHybrid} {
		if c := caseOf(t, rep, name); c.SelectedGroup != "X25519MLKEM768" || c.OK != 3 {
			t.Errorf("%s: %d/3 ok, group %q, classes %v %v", name, c.OK, c.SelectedGroup, c.Classes, c.Errors)
		}
	}
	if c := caseOf(t, rep, CaseFullClassical); c.SelectedGroup != "x25519" || c.OK != 3 {
		t.Errorf("classical handshake: %q %v %v", c.SelectedGroup, c.Classes, c.Errors)
	}
	if rep.Verdict.Cost == nil || rep.Verdict.Cost.ExtraBytes < 2000 {
		t.Errorf("cost %+v", rep.Verdict.Cost)
	}
	// What OpenSSL saw: the full hybrid handshakes completed on X25519MLKEM768
	// with a hybrid key share in the first ClientHello.
	// (Events arrive once OpenSSL's trace for the connection is parsed.)
	hybridSeen := 0
	for range 10 * 3 * len(rep.Cases) {
		e, err := node.NextEvent(5 * time.Second)
		if err != nil {
			break
		}
		if e.Event == "handshake" && e.GroupID == tls.X25519MLKEM768 && !e.HelloRetry {
			hybridSeen++
		}
	}
	if hybridSeen < 3 {
		t.Errorf("Node completed %d hybrid handshakes, want the 3 full hybrid ones", hybridSeen)
	}
	t.Logf("Node 26: %s", rep.Verdict.Summary)
}

func TestInteropNginxClassicalServer(t *testing.T) {
	ngx := testpeer.Nginx(t, testpeer.NginxOptions{})
	rep := run(t, Options{Target: ngx.Addr, Count: 2, RootCAs: ngx.CA.Pool()})
	wantVerdict(t, rep, VerdictHybridUnavailable, true)
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
	pg := testpeer.Postgres(t, testpeer.PostgresOptions{SSL: true})
	rep := run(t, Options{Target: pg.Addr, StartTLS: "postgres", Count: 2, RootCAs: pg.CA.Pool()})
	// PostgreSQL 15 on Debian: OpenSSL 3.0 and ssl_ecdh_curve = prime256v1.
	if rep.Verdict.Code != VerdictHybridUnavailable {
		t.Fatalf("verdict = %+v", rep.Verdict)
	}
	for _, c := range rep.Cases {
		if c.Critical && c.OK != c.Attempts {
			t.Errorf("%s: %v %v", c.Name, c.Classes, c.Errors)
		}
	}
	if c := caseOf(t, rep, CaseHybrid); c.SelectedGroup != "secp256r1" || c.Answers["hello_retry_request"] != 2 {
		t.Errorf("hybrid case against prime256v1-only PostgreSQL: group %q, answers %v", c.SelectedGroup, c.Answers)
	}
	// PostgreSQL on a non-standard port: scan needs the scheme.
	if adv := strings.Join(rep.Verdict.Advice, " "); !strings.Contains(adv, "'pqtls scan postgres://"+pg.Addr+"'") {
		t.Errorf("advice %q lacks 'pqtls scan postgres://%s'", adv, pg.Addr)
	}
	t.Logf("PostgreSQL: [%s] %s", rep.Verdict.Code, rep.Verdict.Summary)
	// Without --starttls postgres the server does not speak TLS first.
	plain := run(t, Options{Target: pg.Addr, Count: 1, Timeout: time.Second, Cases: []string{CaseHybrid}})
	if plain.Verdict.Code != VerdictUnreachable {
		t.Errorf("without STARTTLS: verdict %+v", plain.Verdict)
	}
}

// TestInteropPostgresSSLOff: a real PostgreSQL with ssl=off answers the
// SSLRequest with 'N'; the verdict names that cause without -v, after one
// attempt, and the advice does not suggest the --starttls that was given.
func TestInteropPostgresSSLOff(t *testing.T) {
	pg := testpeer.Postgres(t, testpeer.PostgresOptions{SSL: false})
	start := time.Now()
	rep := run(t, Options{Target: pg.Addr, StartTLS: "postgres", Count: 5})
	v := rep.Verdict
	if v.Code != VerdictUnreachable || !strings.Contains(v.Summary, "SSLRequest answered 'N'") || strings.Contains(strings.Join(v.Advice, " "), "whether it needs --starttls") {
		t.Fatalf("verdict %+v", v)
	}
	if n := caseOf(t, rep, CaseHybrid).Attempts; n != 0 {
		t.Errorf("%d hybrid attempts after the refusal", n)
	}
	t.Logf("PostgreSQL ssl=off: %s (%v)", v.Summary, time.Since(start).Round(time.Millisecond))
}
