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

// TestInteropDeb13ThroughHAProxy: the canary through HAProxy 3.0 in TCP
// mode (a real single-hop proxy, TLS passed through) to nginx 1.26 /
// OpenSSL 3.5. Every hybrid case, the split ClientHello ones included,
// crosses the proxy and nginx selects X25519MLKEM768; HAProxy's own log
// has one line per canary connection.
func TestInteropDeb13ThroughHAProxy(t *testing.T) {
	d := testpeer.Deb13(t)
	ngx := d.Nginx(t, testpeer.NginxOptions{})
	h := d.HAProxy(t, testpeer.HAProxyOptions{TCP: true, NoTLS: true, Backend: ngx.Addr, LogFormat: "tcp|%ci|%b|%ts"})
	logged := func() int { return strings.Count(h.Log(), "tcp|127.0.0.1|be|") }
	// The harness's readiness probe is one proxied connection; HAProxy
	// logs it when it closes.
	for range 100 {
		if logged() >= 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := logged()
	rep := run(t, Options{Target: h.Addr, ServerName: "localhost", Count: 2, RootCAs: ngx.CA.Pool()})
	wantVerdict(t, rep, VerdictOK, true)
	attempts := 0
	for _, c := range rep.Cases {
		attempts += c.Attempts
		if c.OK != c.Attempts {
			t.Errorf("%s: %d/%d ok %v %v", c.Name, c.OK, c.Attempts, c.Classes, c.Errors)
		}
		// OpenSSL 3.5's default list has X25519MLKEM768 only among the
		// hybrids: a case offering SecP384r1MLKEM1024 first gets x25519.
		want := "X25519MLKEM768"
		if c.Name == CaseHybridP384 {
			want = "x25519"
		}
		if c.Hybrid && c.SelectedGroup != want {
			t.Errorf("%s through HAProxy: group %q, want %s from nginx", c.Name, c.SelectedGroup, want)
		}
	}
	for _, name := range []string{CaseHybridSplitTCP, CaseHybridSplitRecord, CaseHybridHRR, CaseFullHybrid} {
		if c := caseOf(t, rep, name); c.SelectedGroup != "X25519MLKEM768" {
			t.Errorf("%s: group %q", name, c.SelectedGroup)
		}
	}
	waitLines := func() int { return logged() - before }
	for range 100 {
		if waitLines() >= attempts {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := waitLines(); n != attempts {
		t.Errorf("HAProxy logged %d proxied connections, the canary made %d attempts\n%s", n, attempts, h.Log())
	}
	t.Logf("through HAProxy 3.0: %s (%d connections proxied)", rep.Verdict.Summary, attempts)
}

// TestInteropDeb13HAProxyCurvesClassical: HAProxy 3.0 terminating TLS in
// TCP mode with `curves X25519:P-256` (the line that silently disables
// hybrid on OpenSSL 3.5): the path is fine, hybrid is unavailable.
func TestInteropDeb13HAProxyCurvesClassical(t *testing.T) {
	d := testpeer.Deb13(t)
	backend := d.Nginx(t, testpeer.NginxOptions{NoTLS: true})
	h := d.HAProxy(t, testpeer.HAProxyOptions{TCP: true, Backend: backend.Addr, Curves: "X25519:P-256"})
	rep := run(t, Options{Target: h.Addr, ServerName: "localhost", Count: 2, RootCAs: h.CA.Pool()})
	wantVerdict(t, rep, VerdictHybridUnavailable, true)
	if c := caseOf(t, rep, CaseFullHybrid); c.SelectedGroup != "x25519" {
		t.Errorf("HAProxy curves X25519:P-256 negotiated %q for the hybrid-first handshake, want x25519", c.SelectedGroup)
	}
	// Without the curves line the same HAProxy is hybrid.
	h2 := d.HAProxy(t, testpeer.HAProxyOptions{TCP: true, Backend: backend.Addr})
	rep2 := run(t, Options{Target: h2.Addr, ServerName: "localhost", Count: 1, RootCAs: h2.CA.Pool()})
	if c := caseOf(t, rep2, CaseFullHybrid); rep2.Verdict.Code != VerdictOK || c.SelectedGroup != "X25519MLKEM768" {
		t.Errorf("default HAProxy 3.0: verdict %s, group %q; want ok, X25519MLKEM768", rep2.Verdict.Code, c.SelectedGroup)
	}
}

// TestInteropDeb13MLDSAOnlyServer: openssl s_server 3.5 whose only
// certificate is ML-DSA-65. Every crafted case must reach a ServerHello
// (the TLS 1.3 hellos offer the ML-DSA schemes, as OpenSSL 3.5 clients do);
// before, each one got handshake_failure ("no suitable signature
// algorithm") and the canary blamed the path with hybrid_alert.
func TestInteropDeb13MLDSAOnlyServer(t *testing.T) {
	d := testpeer.Deb13(t)
	dir := d.TempDir(t)
	cert, key := d.OpenSSLCert(t, dir, "mldsa65", "ML-DSA-65", "")
	addr := d.SServer(t, "-cert", cert, "-key", key)
	rep := run(t, Options{Target: addr, ServerName: "localhost", Count: 2})
	crafted := 0
	for _, c := range rep.Cases {
		if c.Kind != KindCrafted {
			continue
		}
		crafted++
		if c.OK != c.Attempts {
			t.Errorf("%s: %d/%d ok %v %v", c.Name, c.OK, c.Attempts, c.Classes, c.Errors)
		}
		if c.Hybrid && c.Name != CaseHybridP384 && c.SelectedGroup != "X25519MLKEM768" {
			t.Errorf("%s: group %q, want X25519MLKEM768 from OpenSSL 3.5", c.Name, c.SelectedGroup)
		}
	}
	if crafted == 0 {
		t.Fatal("no crafted case ran")
	}
	if rep.Verdict.Code == VerdictHybridAlert {
		t.Errorf("verdict %s against an ML-DSA-only server: the path is fine", rep.Verdict.Code)
	}
}
