package canary

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/wire"
	"golang.org/x/crypto/cryptobyte"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

func run(t *testing.T, o Options) *Report {
	t.Helper()
	if o.PMTU == "" {
		o.PMTU = PMTUOff
	}
	if o.Count == 0 {
		o.Count = 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestHybridServerOK(t *testing.T) {
	addr := servePQTLS(t, listenLoopback(t), pqtls.ModePrefer)
	rep := run(t, Options{Target: addr, Count: 3})
	wantVerdict(t, rep, VerdictOK, true)
	for _, c := range rep.Cases {
		if c.OK != c.Attempts || c.Attempts != 3 || c.SuccessRate != 1 {
			t.Errorf("%s: %d/%d ok (%v) %v", c.Name, c.OK, c.Attempts, c.Classes, c.Errors)
		}
		if c.Latency.Samples != 3 || c.Latency.P50 <= 0 || c.Latency.Max < c.Latency.P50 || c.Latency.P99 < c.Latency.P90 {
			t.Errorf("%s: implausible latency %+v", c.Name, c.Latency)
		}
	}
	for name, want := range map[string]string{
		CaseClassical: "x25519", CaseHybrid: "X25519MLKEM768", CaseHybridSplitTCP: "X25519MLKEM768",
		// prefer accepts Go's default set, SecP384r1MLKEM1024 included.
		CaseHybridSplitRecord: "X25519MLKEM768", CaseHybridP384: "SecP384r1MLKEM1024", CaseHybridHRR: "X25519MLKEM768",
		CaseFullClassical: "x25519", CaseFullHybrid: "X25519MLKEM768",
	} {
		if got := caseOf(t, rep, name).SelectedGroup; got != want {
			t.Errorf("%s negotiated %q, want %q", name, got, want)
		}
	}
	// Sizes: ~1.4-1.5 KB hybrid, ~1.9 KB P-384 hybrid, padded exactly.
	cl, hy, p384 := caseOf(t, rep, CaseClassical), caseOf(t, rep, CaseHybrid), caseOf(t, rep, CaseHybridP384)
	if cl.HelloBytes > 400 || hy.HelloBytes < 1400 || hy.HelloBytes > 1600 || p384.HelloBytes < 1850 || p384.HelloBytes > 2000 {
		t.Errorf("hello sizes classical %d hybrid %d p384 %d", cl.HelloBytes, hy.HelloBytes, p384.HelloBytes)
	}
	if got := caseOf(t, rep, CaseHybridPad4K).HelloBytes; got != 4096 {
		t.Errorf("pad-4k hello = %d bytes", got)
	}
	if got := caseOf(t, rep, CaseHybridPad16K).HelloBytes; got != 16384 {
		t.Errorf("pad-16k hello = %d bytes", got)
	}
	// Bytes on the wire: the record header(s) on top of the hello.
	if hy.BytesSent != hy.HelloBytes+5 {
		t.Errorf("hybrid sent %d bytes for a %d-byte hello", hy.BytesSent, hy.HelloBytes)
	}
	if rec := caseOf(t, rep, CaseHybridSplitRecord); rec.BytesSent != rec.HelloBytes+3*5 {
		t.Errorf("split-records sent %d bytes for a %d-byte hello in 3 records", rec.BytesSent, rec.HelloBytes)
	}
	// Go's server prefers hybrid: the classical-share hello gets a retry.
	if hrr := caseOf(t, rep, CaseHybridHRR); hrr.HelloRetries != 3 || hrr.BytesSent < hy.HelloBytes {
		t.Errorf("HRR case: %d retries, %d bytes sent", hrr.HelloRetries, hrr.BytesSent)
	}
	cost := rep.Verdict.Cost
	if cost == nil || cost.HybridGroup != "X25519MLKEM768" || cost.ExtraBytes < 2000 || cost.ExtraBytes > 3000 {
		t.Fatalf("cost = %+v, want about 2.3 KB extra (1184+1088 bytes of ML-KEM)", cost)
	}
	if !strings.Contains(rep.Verdict.Summary, "extra bytes per handshake") {
		t.Errorf("summary %q", rep.Verdict.Summary)
	}
	if rep.Path.LocalAddr == "" || rep.Path.MSS <= 0 || rep.Path.InterfaceMTU <= 0 || rep.Path.Interface == "" {
		t.Errorf("path info missing: %+v", rep.Path)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil || back["schema"] != Schema {
		t.Fatalf("JSON schema = %v (%v)", back["schema"], err)
	}
}

func TestClassicalOnlyServerIsNotABrokenPath(t *testing.T) {
	addr := servePQTLS(t, listenLoopback(t), pqtls.ModeClassical)
	rep := run(t, Options{Target: addr})
	wantVerdict(t, rep, VerdictHybridUnavailable, true)
	if !strings.Contains(rep.Verdict.Summary, "hybrid not available on this server") {
		t.Errorf("summary %q", rep.Verdict.Summary)
	}
	if got := caseOf(t, rep, CaseHybrid).SelectedGroup; got != "x25519" {
		t.Errorf("hybrid case negotiated %q on a classical server", got)
	}
	strict := run(t, Options{Target: addr, RequireHybrid: true, Cases: []string{CaseHybrid}})
	if strict.Verdict.Code != VerdictHybridUnavailable || strict.Verdict.Safe {
		t.Fatalf("--require-hybrid verdict = %+v, want hybrid_unavailable, unsafe", strict.Verdict)
	}
	if len(strict.Cases) != 3 {
		t.Errorf("Cases filter ran %d cases, want hybrid plus the two baselines", len(strict.Cases))
	}
}

func TestRequireServerRefusesClassicalOnly(t *testing.T) {
	addr := servePQTLS(t, listenLoopback(t), pqtls.ModeRequire)
	rep := run(t, Options{Target: addr})
	if rep.Verdict.Code != VerdictOK {
		t.Fatalf("verdict = %+v, want ok", rep.Verdict)
	}
	if c := caseOf(t, rep, CaseClassical); c.Classes["alert:handshake_failure"] != c.Attempts {
		t.Errorf("classical case classes = %v, want alert:handshake_failure", c.Classes)
	}
	if c := caseOf(t, rep, CaseFullClassical); c.Classes["alert:handshake_failure"] != c.Attempts {
		t.Errorf("full classical classes = %v, want alert:handshake_failure", c.Classes)
	}
	if !strings.Contains(strings.Join(rep.Verdict.Warnings, "\n"), "refuses classical") {
		t.Errorf("warnings %q do not mention the refused classical handshakes", rep.Verdict.Warnings)
	}
}

// runFault runs the canary (o without Target) against a loopback server
// with fault f and fails unless the verdict is want, not safe.
func runFault(t *testing.T, f fault, o Options, want string) *Report {
	t.Helper()
	o.Target = serveFault(t, listenLoopback(t), f)
	rep := run(t, o)
	wantVerdict(t, rep, want, false)
	return rep
}

func TestSingleReadServerResetsSplitHello(t *testing.T) {
	rep := runFault(t, faultSingleRead, Options{Count: 3}, VerdictSplitHelloReset)
	if c := caseOf(t, rep, CaseHybridSplitTCP); c.Classes[ClassReset] != 3 {
		t.Errorf("split-tcp classes = %v, want reset 3", c.Classes)
	}
	if c := caseOf(t, rep, CaseClassical); c.OK != 3 {
		t.Errorf("classical %v", c.Classes)
	}
	if !strings.Contains(rep.Verdict.Summary, "single read") {
		t.Errorf("summary %q", rep.Verdict.Summary)
	}
}

func TestLargeHelloDropped(t *testing.T) {
	// Only the hybrid case (plus the baselines): each timeout costs a full
	// --timeout, kept generous so that a loaded machine does not time the
	// classical baselines out too.
	rep := runFault(t, faultDropLarge, Options{Timeout: time.Second, Cases: []string{CaseHybrid, CaseHybridSplitTCP}}, VerdictLargeHelloDropped)
	if c := caseOf(t, rep, CaseHybrid); c.Classes[ClassTimeout] != 2 {
		t.Errorf("hybrid classes %v", c.Classes)
	}
	if !strings.Contains(rep.Verdict.Summary, "time out while classical ones succeed") {
		t.Errorf("summary %q", rep.Verdict.Summary)
	}
}

func TestHybridAlert(t *testing.T) {
	rep := runFault(t, faultAlertLarge, Options{}, VerdictHybridAlert)
	if c := caseOf(t, rep, CaseHybrid); c.Classes["alert:handshake_failure"] != 2 {
		t.Errorf("hybrid classes %v", c.Classes)
	}
}

func TestNotTLSIsUnreachable(t *testing.T) {
	rep := runFault(t, faultHTTP, Options{Count: 1}, VerdictUnreachable)
	if c := caseOf(t, rep, CaseClassical); c.Classes[ClassUnexpected] != 1 {
		t.Errorf("classical classes %v", c.Classes)
	}
}

func TestConnectRefused(t *testing.T) {
	ln := listenLoopback(t)
	addr := ln.Addr().String()
	ln.Close()
	rep := run(t, Options{Target: addr, Count: 1})
	if rep.Verdict.Code != VerdictUnreachable {
		t.Fatalf("verdict = %+v", rep.Verdict)
	}
	// The refused connection is the cause in the summary; the canary stops
	// after the classical baseline instead of trying every case.
	if c := caseOf(t, rep, CaseClassical); c.Classes[ClassConnectFailed] != 1 || !strings.Contains(rep.Verdict.Summary, "connection refused") {
		t.Errorf("classes %v, summary %q", c.Classes, rep.Verdict.Summary)
	}
	if c := caseOf(t, rep, CaseFullHybrid); c.Attempts != 0 {
		t.Errorf("%s ran %d attempts after the baseline failed", c.Name, c.Attempts)
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{},
		{Target: "no-port"},
		{Target: ":443"},
		{Target: "h:0"},
		{Target: "h:443", Count: -1},
		{Target: "h:443", Count: MaxCount + 1},
		{Target: "h:443", StartTLS: "gopher"},
		{Target: "h:443", PMTU: "sometimes"},
		{Target: "h:443", Cases: []string{"hybird"}},
		{Target: "h:443", Timeout: time.Second, SplitPause: 2 * time.Second},
	} {
		if err := ValidateOptions(&o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	o := Options{Target: "h:443"}
	if err := ValidateOptions(&o); err != nil || o.Count != DefaultCount || o.Timeout != DefaultTimeout || o.PMTU != PMTUAuto {
		t.Errorf("defaults: %+v %v", o, err)
	}
}

func TestCancelStopsEarly(t *testing.T) {
	addr := serveFault(t, listenLoopback(t), faultDropLarge)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := Run(ctx, Options{Target: addr, Count: 100, Timeout: 5 * time.Second, PMTU: PMTUOff})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v after cancel", d)
	}
	if rep.Cases[0].Attempts >= 100 {
		t.Errorf("ran all %d rounds despite the cancel", rep.Cases[0].Attempts)
	}
	// The hybrid attempt stalled by the fault was cut by the cancel, not by
	// its timeout: it is not a finding, and an incomplete matrix gets no
	// path verdict (large_hello_dropped here would be a guess).
	if hy := caseOf(t, rep, CaseHybrid); hy.Classes[ClassTimeout] != 0 {
		t.Errorf("the attempt interrupted by the cancel counted as a timeout: %+v", hy.Classes)
	}
	if rep.Verdict.Code != VerdictInterrupted || rep.Verdict.Safe {
		t.Errorf("verdict after cancel: %+v", rep.Verdict)
	}
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := summarize(ds)
	if l.P50 != 50 || l.P90 != 90 || l.P99 != 99 || l.Max != 100 || l.Samples != 100 || l.Mean != 50.5 {
		t.Errorf("%+v", l)
	}
	if l := summarize([]time.Duration{7 * time.Millisecond}); l.P50 != 7 || l.P99 != 7 {
		t.Errorf("%+v", l)
	}
	if l := summarize(nil); l.Samples != 0 {
		t.Errorf("%+v", l)
	}
}

func TestChecksum(t *testing.T) {
	// RFC 1071 example words 0001 f203 f4f5 f6f7 sum to ddf2, checksum 220d.
	if got := checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}); got != 0x220d {
		t.Errorf("checksum = %04x", got)
	}
}

func TestStartTLSPostgres(t *testing.T) {
	// A PostgreSQL-like front: SSLRequest, 'S', then TLS from pqtls.
	inner := listenLoopback(t)
	pre := &sslRequestListener{Listener: inner, t: t}
	addr := servePQTLS(t, pre, pqtls.ModePrefer)
	rep := run(t, Options{Target: addr, StartTLS: "postgres", Cases: []string{CaseHybrid}})
	if rep.Verdict.Code != VerdictOK {
		t.Fatalf("verdict %+v", rep.Verdict)
	}
	if rep.StartTLS != "postgres" || pre.requests.Load() != int32(3*2) {
		t.Errorf("starttls %q, %d SSLRequests seen, want 6", rep.StartTLS, pre.requests.Load())
	}
	// Without the preamble the same server sees garbage and never answers TLS.
	rep = run(t, Options{Target: addr, Count: 1, Timeout: 500 * time.Millisecond, Cases: []string{CaseHybrid}})
	if rep.Verdict.Safe {
		t.Fatalf("no preamble: verdict %+v", rep.Verdict)
	}
}

func TestStartTLSProtocolsShared(t *testing.T) {
	// The canary accepts every preamble of internal/starttls (aliases
	// normalised, none = no preamble), but not scan's auto/postgres-direct.
	for in, want := range map[string]string{"pg": "postgres", "ldap": "ldap", "XMPP": "xmpp", "none": "", "": ""} {
		o := Options{Target: "h:443", StartTLS: in}
		if err := ValidateOptions(&o); err != nil || o.StartTLS != want {
			t.Errorf("--starttls %q: %q, %v; want %q", in, o.StartTLS, err, want)
		}
	}
	for _, bad := range []string{"auto", "postgres-direct", "gopher"} {
		if err := CheckStartTLS(bad); err == nil || !strings.Contains(err.Error(), "use one of postgres, mysql, smtp, imap, pop3, ftp, ldap, xmpp, or none") {
			t.Errorf("--starttls %s: %v", bad, err)
		}
	}
	// An LDAP server: StartTLS extended operation, success, then TLS.
	inner := listenLoopback(t)
	pre := &sslRequestListener{Listener: inner, t: t, serve: func(c net.Conn) bool {
		req := make([]byte, 31)
		if _, err := io.ReadFull(c, req); err != nil || !strings.Contains(string(req), "1.3.6.1.4.1.1466.20037") {
			return false
		}
		_, err := c.Write([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00})
		return err == nil
	}}
	addr := servePQTLS(t, pre, pqtls.ModePrefer)
	rep := run(t, Options{Target: addr, StartTLS: "ldap", Cases: []string{CaseHybrid}})
	if rep.Verdict.Code != VerdictOK || rep.StartTLS != "ldap" || pre.requests.Load() != int32(3*2) {
		t.Errorf("ldap: verdict %+v, starttls %q, %d StartTLS requests, want 6", rep.Verdict, rep.StartTLS, pre.requests.Load())
	}
}

// TestWrongCAIsNotAPathVerdict: with a --ca that does not sign the server's
// certificate, both full handshakes fail verification after a successful key
// exchange. That says nothing about the path: no unstable_path, no "server
// refuses classical", but a warning naming the certificate problem.
func TestWrongCAIsNotAPathVerdict(t *testing.T) {
	addr := servePQTLS(t, listenLoopback(t), pqtls.ModePrefer)
	pool := testpki.NewCA(t).Pool() // an unrelated CA
	rep := run(t, Options{Target: addr, Count: 2, RootCAs: pool})
	if c := caseOf(t, rep, CaseFullHybrid); c.Classes[ClassCertificate] != 2 {
		t.Fatalf("full hybrid handshake classes %v, want certificate 2", c.Classes)
	}
	if rep.Verdict.Code != VerdictOK || !rep.Verdict.Safe {
		t.Errorf("verdict %+v, want ok from the crafted cases", rep.Verdict)
	}
	w := strings.Join(rep.Verdict.Warnings, "\n")
	if !strings.Contains(w, "failed certificate verification") || strings.Contains(w, "refuses classical") {
		t.Errorf("warnings %q", w)
	}
}

// TestInvalidServerHelloIsNotOK: a ServerHello that does not answer our
// ClientHello (session ID not echoed, as from a device that replays a
// canned answer) is class unexpected, not ok.
func TestInvalidServerHelloIsNotOK(t *testing.T) {
	ln := listenLoopback(t)
	testpeer.Serve(t, ln, 5*time.Second, func(c net.Conn) {
		if _, err := wire.NewReader(c).ReadMessage(); err != nil {
			return
		}
		var b cryptobyte.Builder
		b.AddUint8(byte(wire.TypeServerHello))
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0x0303)
			b.AddBytes(make([]byte, 32))
			b.AddUint8(0) // empty session ID: not echoed
			b.AddUint16(tls.TLS_AES_128_GCM_SHA256)
			b.AddUint8(0)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16(43)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x0304) })
				b.AddUint16(51)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint16(uint16(tls.X25519))
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
				})
			})
		})
		rec, err := wire.EncodeRecords(wire.ContentHandshake, 0x0303, b.BytesOrPanic(), nil)
		if err == nil {
			_, _ = c.Write(rec)
		}
		time.Sleep(100 * time.Millisecond)
	})
	rep := run(t, Options{Target: ln.Addr().String(), Count: 1, Cases: []string{CaseHybrid}})
	// The classical hello already gets the invalid answer: the run stops
	// there, naming it.
	c := caseOf(t, rep, CaseClassical)
	if c.OK != 0 || c.Classes[ClassUnexpected] != 1 || !strings.Contains(strings.Join(c.Errors, " "), "session ID") {
		t.Errorf("%s: ok %d classes %v errors %v", c.Name, c.OK, c.Classes, c.Errors)
	}
	if rep.Verdict.Code != VerdictUnreachable || !strings.Contains(rep.Verdict.Summary, "session ID") {
		t.Errorf("verdict %+v", rep.Verdict)
	}
}
