package canary

import (
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
)

// TestSilentServerStopsAfterBaseline: a server that accepts and never
// answers fails the first classical attempt; the canary stops there instead
// of waiting count x cases x timeout (250 s with the defaults).
func TestSilentServerStopsAfterBaseline(t *testing.T) {
	ln := listenLoopback(t)
	testpeer.Serve(t, ln, 0, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	rep := run(t, Options{Target: ln.Addr().String(), Count: 3, Timeout: 300 * time.Millisecond})
	attempts := 0
	for _, c := range rep.Cases {
		attempts += c.Attempts
	}
	if attempts != 1 || caseOf(t, rep, CaseClassical).Classes[ClassTimeout] != 1 {
		t.Fatalf("%d attempts (classical %v), want the one classical attempt", attempts, caseOf(t, rep, CaseClassical).Classes)
	}
	if v := rep.Verdict; v.Code != VerdictUnreachable || !strings.Contains(v.Summary, "stopped after the first classical attempt") {
		t.Errorf("verdict %+v", v)
	}
}

// TestStartTLSRefusedNamesCause: PostgreSQL with ssl=off answers the
// SSLRequest with 'N'; the summary (no -v needed) says so, and the advice
// does not suggest --starttls, which was given.
func TestStartTLSRefusedNamesCause(t *testing.T) {
	ln := listenLoopback(t)
	testpeer.Serve(t, ln, 0, func(c net.Conn) {
		b := make([]byte, 8)
		if _, err := io.ReadFull(c, b); err == nil && binary.BigEndian.Uint32(b[4:]) == 80877103 {
			_, _ = c.Write([]byte{'N'})
			_, _ = io.Copy(io.Discard, c)
		}
	})
	rep := run(t, Options{Target: ln.Addr().String(), StartTLS: "postgres", Count: 5, Timeout: 2 * time.Second})
	v := rep.Verdict
	if v.Code != VerdictUnreachable || !strings.Contains(v.Summary, "SSLRequest answered 'N'") {
		t.Fatalf("verdict %+v: want the cause in the summary", v)
	}
	if adv := strings.Join(v.Advice, " "); strings.Contains(adv, "whether it needs --starttls") || !strings.Contains(adv, "postgres preamble") {
		t.Errorf("advice %q", adv)
	}
	if n := caseOf(t, rep, CaseClassical).Attempts + caseOf(t, rep, CaseHybrid).Attempts; n != 1 {
		t.Errorf("%d attempts after the refusal, want 1", n)
	}
}

// TestUnresolvableNameFailsAtOnce: an unknown host name is looked up once
// and fails the run with "no such host": no attempt, no firewall advice.
func TestUnresolvableNameFailsAtOnce(t *testing.T) {
	res, lookups := testpeer.NXDomainResolver()
	rep := run(t, Options{Target: "db.nosuch.test:5432", Resolver: res, Count: 5, Timeout: 2 * time.Second})
	v := rep.Verdict
	if v.Code != VerdictUnreachable || v.Safe || !strings.Contains(v.Summary, "no such host") {
		t.Fatalf("verdict %+v", v)
	}
	if adv := strings.Join(v.Advice, " "); strings.Contains(adv, "firewall") || !strings.Contains(adv, "host name") {
		t.Errorf("advice %q", adv)
	}
	for _, c := range rep.Cases {
		if c.Attempts != 0 {
			t.Errorf("%s: %d attempts", c.Name, c.Attempts)
		}
	}
	if n := lookups.Load(); n == 0 || n > 8 { // A and AAAA, search list: one lookup of the name
		t.Errorf("%d DNS exchanges", n)
	}
}

func TestScanHintScheme(t *testing.T) {
	for _, tc := range []struct{ target, starttls, want string }{
		{"db:27432", "postgres", "postgres://db:27432"},
		{"db:5432", "postgres", "db:5432"},
		{"mail:2525", "smtp", "smtp://mail:2525"},
		{"api:8443", "", "api:8443"},
	} {
		r := synth(2, nil)
		r.Target, r.StartTLS = tc.target, tc.starttls
		for i := range r.Cases {
			r.Cases[i].SelectedGroup, r.Cases[i].SelectedKind = "x25519", "classical"
		}
		v := decide(r, false)
		if adv := strings.Join(v.Advice, " "); v.Code != VerdictHybridUnavailable || !strings.Contains(adv, "'pqtls scan "+tc.want+"'") {
			t.Errorf("%s with starttls %q: advice %q, want 'pqtls scan %s'", tc.target, tc.starttls, adv, tc.want)
		}
	}
}

// TestCostCaution: a cost from fewer than CostMinSamples handshakes says
// it is rough; one from enough does not.
func TestCostCaution(t *testing.T) {
	for _, n := range []int{1, 3, CostMinSamples - 1, CostMinSamples, 20} {
		v := decide(synth(n, nil), false)
		if v.Cost == nil || v.Cost.Samples != n {
			t.Fatalf("n=%d: cost %+v", n, v.Cost)
		}
		if got, want := strings.Contains(v.Summary, "caution: from only"), n < CostMinSamples; got != want {
			t.Errorf("n=%d: caution %v, want %v: %s", n, got, want, v.Summary)
		}
	}
}

// TestHRRWarningAgreesWithItsNumbers: the warning never says the retry
// costs a round trip "(hybrid-hrr 0.43 ms vs hybrid 0.51 ms)".
func TestHRRWarningAgreesWithItsNumbers(t *testing.T) {
	for _, tc := range []struct {
		hrr, direct float64
		want        string
	}{{0.43, 0.51, "too small to measure on this path"}, {0.90, 0.50, "here +0.40 ms p50"}} {
		r := synth(4, nil)
		for i := range r.Cases {
			switch r.Cases[i].Name {
			case CaseHybridHRR:
				r.Cases[i].HelloRetries, r.Cases[i].Latency.P50 = 4, tc.hrr
			case CaseHybrid:
				r.Cases[i].Latency.P50 = tc.direct
			}
		}
		w := strings.Join(decide(r, false).Warnings, "\n")
		if !strings.Contains(w, "HelloRetryRequest") || !strings.Contains(w, tc.want) {
			t.Errorf("hrr %.2f vs %.2f: warnings %q, want %q", tc.hrr, tc.direct, w, tc.want)
		}
	}
}
