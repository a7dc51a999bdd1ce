package scan

import (
	"context"
	"crypto/tls"
	"io"
	"math/rand"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

// listen starts a loopback listener served by handle (one goroutine per
// connection) and returns its address.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 0, handle)
	return ln.Addr().String()
}

func target(t *testing.T, addr string) Target {
	t.Helper()
	ts, err := ParseTarget(addr, "test")
	if err != nil {
		t.Fatal(err)
	}
	return ts[0]
}

// noted reports whether a note of r contains s.
func noted(r Result, s string) bool { return strings.Contains(strings.Join(r.Notes, " "), s) }

// startPQTLSServer serves TLS with a pqtls policy on loopback.
func startPQTLSServer(t *testing.T, cert *testCert, mode string, groups string, minVersion string) string {
	t.Helper()
	cfg := pqtlsServerConfig(t, cert, mode, groups, minVersion)
	return listen(t, func(c net.Conn) {
		defer c.Close()
		tc := tls.Server(c, cfg)
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		if tc.Handshake() == nil {
			io.Copy(io.Discard, tc)
		}
	})
}

// pqtlsServerConfig is the server config of a pqtls policy presenting cert.
func pqtlsServerConfig(t *testing.T, cert *testCert, mode, groups, minVersion string) *tls.Config {
	t.Helper()
	pol, _, err := pqtls.ParsePolicy(mode, groups, minVersion)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pqtls.ServerConfig(pqtls.Options{Policy: pol, Base: &tls.Config{Certificates: []tls.Certificate{cert.tls}}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestMisbehavingEndpoints(t *testing.T) {
	cert := newTestCert(t)
	good := startPQTLSServer(t, cert, "prefer", "", "")
	// A closed port: listen, take the address, close.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	silent := listen(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) // reads, never answers
	reset := listen(t, func(c net.Conn) {
		buf := make([]byte, 5)
		io.ReadFull(c, buf) // the ClientHello record header
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	httpLn, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: http.NotFoundHandler()}
	go srv.Serve(httpLn)
	t.Cleanup(func() { srv.Close() })
	ssh := listen(t, func(c net.Conn) {
		io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
		_, _ = io.Copy(io.Discard, c) // until the scanner hangs up
	})
	random := listen(t, func(c net.Conn) {
		b := make([]byte, 512)
		rand.New(rand.NewSource(1)).Read(b)
		c.Write(b)
		_, _ = io.Copy(io.Discard, c)
	})
	addrs := []string{good, closed, silent, reset, httpLn.Addr().String(), ssh, random, good}
	want := []Verdict{VerdictPQReady, VerdictUnreachable, VerdictTimeout, VerdictReset, VerdictNotTLS, VerdictNotTLS, VerdictNotTLS, VerdictPQReady}
	var targets []Target
	for _, a := range addrs {
		tg := target(t, a)
		tg.ServerName = "localhost"
		targets = append(targets, tg)
	}
	timeout := 700 * time.Millisecond
	opts := Options{Enumerate: true, Timeout: timeout, Retries: 1, Concurrency: 8, PerHost: -1, RootCAs: cert.pool}
	res := ScanAll(context.Background(), targets, opts)
	for i, r := range res {
		if r.Address != addrs[i] {
			t.Errorf("result %d is for %s, want %s (order must follow input)", i, r.Address, addrs[i])
		}
		if r.Verdict != want[i] {
			t.Errorf("%s: verdict %s (%s: %s), want %s", addrs[i], r.Verdict, r.Reason, r.Error, want[i])
		}
		// Each error verdict comes within the bound the configured timeouts
		// imply (no hang): one timeout per step (connect, handshake) per
		// attempt, plus the retry back-off, plus generous slack for a loaded
		// machine. This is a correctness bound, not a performance figure.
		budget := time.Duration(opts.retries()+1)*2*timeout + 3*time.Second
		if !r.Verdict.Scanned() && time.Duration(r.DurationMS*float64(time.Millisecond)) > budget {
			t.Errorf("%s: %s took %.0f ms, budget %v", addrs[i], r.Verdict, r.DurationMS, budget)
		}
	}
	if res[2].Connections != 2 || res[1].Connections != 1 {
		t.Errorf("connections: timeout endpoint %d (want 2 = 1 retry), refused %d (want 1, no retry)", res[2].Connections, res[1].Connections)
	}
	if !res[0].ChainVerified || len(res[0].Certificates) != 1 || res[0].Certificates[0].KeyType != "ECDSA P-256" {
		t.Errorf("good endpoint certificate: %+v verified=%v %s", res[0].Certificates, res[0].ChainVerified, res[0].VerifyError)
	}
	if !noted(res[0], "leaf certificate expires in ") {
		t.Errorf("a certificate valid for one more day is not flagged: %v", res[0].Notes)
	}
	if res[0].Verdict != res[7].Verdict || !slices.Equal(res[0].GroupNames(), res[7].GroupNames()) {
		t.Errorf("the same server scanned twice gave different results: %v vs %v", res[0].GroupNames(), res[7].GroupNames())
	}
}

// TestPQTLSPolicyModes scans pqtls's own servers in each policy mode.
func TestPQTLSPolicyModes(t *testing.T) {
	cert := newTestCert(t)
	for _, tc := range []struct {
		mode, groups string
		verdict      Verdict
		wantGroups   []string
		tls12        bool
	}{
		// prefer and classical keep TLS 1.2 (the library's "never break
		// a working link"); require is TLS 1.3 with the library's hybrids.
		{"prefer", "", VerdictPQReady, nil, true},
		{"require", "", VerdictPQReady, groupNames(pqtls.DefaultGroups(pqtls.ModeRequire)), false},
		{"classical", "", VerdictClassical, nil, true},
		// Go 1.26's default client lists SecP384r1MLKEM1024 without a key
		// share: ready, after a HelloRetryRequest.
		{"require", "SecP384r1MLKEM1024", VerdictPQReady, []string{"SecP384r1MLKEM1024"}, false},
	} {
		t.Run(tc.mode+"_"+tc.groups, func(t *testing.T) {
			addr := startPQTLSServer(t, cert, tc.mode, tc.groups, "")
			tg := target(t, addr)
			tg.ServerName = "localhost"
			r, err := ScanOne(context.Background(), tg, Options{Enumerate: true, Timeout: 3 * time.Second, RootCAs: cert.pool})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tc.verdict {
				t.Errorf("verdict %s (%s), want %s; groups %v", r.Verdict, r.Reason, tc.verdict, r.GroupNames())
			}
			for _, g := range r.Groups {
				kind := pqtls.Kind(g.Kind)
				if tc.mode == "classical" && kind != pqtls.KindClassical || tc.mode == "require" && kind != pqtls.KindHybrid {
					t.Errorf("%s server accepted %s (%s)", tc.mode, g.Name, g.Kind)
				}
				if g.Confirmed == nil || !*g.Confirmed {
					t.Errorf("group %s not confirmed: %s", g.Name, g.ConfirmError)
				}
			}
			if tc.wantGroups != nil && !sameSet(r.GroupNames(), tc.wantGroups) {
				t.Errorf("groups %v, want %v", r.GroupNames(), tc.wantGroups)
			}
			if len(r.Groups) == 0 {
				t.Errorf("no groups found")
			}
			if !slices.Contains(r.Versions, "TLS 1.3") || slices.Contains(r.Versions, "TLS 1.2") != tc.tls12 {
				t.Errorf("versions %v", r.Versions)
			}
			if dc := r.DefaultClient; tc.groups == "SecP384r1MLKEM1024" && (dc == nil || !dc.HelloRetry || dc.Group != "SecP384r1MLKEM1024") {
				t.Errorf("default client against a SecP384r1MLKEM1024-only server: %+v, want that group after an HRR", dc)
			}
			if warned := noted(r, "X25519MLKEM768 is not accepted"); warned != (tc.groups == "SecP384r1MLKEM1024") {
				t.Errorf("note about clients offering only X25519MLKEM768: %v, notes %v", warned, r.Notes)
			}
			t.Logf("%s: %s groups=%v order=%s conns=%d", tc.mode, r.Verdict, r.GroupNames(), r.GroupOrder, r.Connections)
		})
	}
}

func groupNames(ids []tls.CurveID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = pqtls.GroupName(id)
	}
	return out
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func TestQuickModeOneConnection(t *testing.T) {
	cert := newTestCert(t)
	addr := startPQTLSServer(t, cert, "prefer", "", "")
	r, err := ScanOne(context.Background(), target(t, addr), Options{Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Connections != 1 || r.Verdict != VerdictPQReady || len(r.Groups) != 0 || r.DefaultClient.Group != "X25519MLKEM768" {
		t.Errorf("quick scan: %d connections, %s, groups %v, default %+v", r.Connections, r.Verdict, r.GroupNames(), r.DefaultClient)
	}
	if r.ChainVerified {
		t.Errorf("chain verified against system roots for a test CA")
	}
}

func TestScanAllDeterministicOrder(t *testing.T) {
	cert := newTestCert(t)
	a := startPQTLSServer(t, cert, "prefer", "", "")
	b := startPQTLSServer(t, cert, "classical", "", "")
	var targets []Target
	for i := 0; i < 12; i++ {
		addr := a
		if i%3 == 0 {
			addr = b
		}
		tg := target(t, addr)
		tg.Input = strconv.Itoa(i)
		targets = append(targets, tg)
	}
	calls := 0
	res := ScanAll(context.Background(), targets, Options{Concurrency: 5, PerHost: 2, Progress: func(done, total int) { calls++ }})
	for i, r := range res {
		want := VerdictPQReady
		if i%3 == 0 {
			want = VerdictClassical
		}
		if r.Target.Input != strconv.Itoa(i) || r.Verdict != want {
			t.Errorf("result %d: input %s verdict %s, want %d %s", i, r.Target.Input, r.Verdict, i, want)
		}
	}
	if calls != len(targets) {
		t.Errorf("progress called %d times, want %d", calls, len(targets))
	}
}

func TestIPv6Target(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	cfg := pqtlsServerConfig(t, newTestCert(t), "prefer", "", "")
	testpeer.Serve(t, tls.NewListener(ln, cfg), 0, func(c net.Conn) { c.(*tls.Conn).Handshake() })
	tg := target(t, ln.Addr().String())
	r, _ := ScanOne(context.Background(), tg, Options{Enumerate: true, Timeout: 3 * time.Second})
	if r.Verdict != VerdictPQReady || !strings.HasPrefix(r.Address, "[::1]:") || tg.ServerName != "" || len(r.Groups) == 0 {
		t.Errorf("IPv6: %s %s %v (%s)", r.Address, r.Verdict, r.GroupNames(), r.Error)
	}
}

// countingConn decrements the open-connection gauge on Close.
type countingConn struct {
	net.Conn
	once sync.Once
	dec  func()
}

func (c *countingConn) Close() error {
	c.once.Do(c.dec)
	return c.Conn.Close()
}

func TestPerHostConnectionLimit(t *testing.T) {
	cert := newTestCert(t)
	var addrs []string
	for i := 0; i < 3; i++ {
		addrs = append(addrs, startPQTLSServer(t, cert, "prefer", "", ""))
	}
	var mu sync.Mutex
	open, peak, total := 0, 0, 0
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		open++
		total++
		peak = max(peak, open)
		mu.Unlock()
		return &countingConn{Conn: c, dec: func() { mu.Lock(); open--; mu.Unlock() }}, nil
	}
	var targets []Target
	for i := 0; i < 12; i++ {
		targets = append(targets, target(t, addrs[i%3]))
	}
	res := ScanAll(context.Background(), targets, Options{Enumerate: true, Concurrency: 8, PerHost: 2, DialContext: dial, Timeout: 3 * time.Second})
	sum := 0
	for _, r := range res {
		if r.Verdict != VerdictPQReady {
			t.Fatalf("%s: %s", r.Address, r.Verdict)
		}
		sum += r.Connections
	}
	if peak > 2 || peak < 1 {
		t.Errorf("peak concurrent connections to 127.0.0.1: %d, want <= 2 (--per-host 2)", peak)
	}
	if open != 0 || total != sum {
		t.Errorf("connections left open %d; dialled %d, results report %d", open, total, sum)
	}
}

// TestScanAllCanceled: cancelling a fleet scan returns promptly (well before
// the hour-long step timeout), keeps the endpoints already finished, and
// marks the interrupted and unstarted ones timeout/canceled instead of
// giving them a verdict from a half-done enumeration.
func TestScanAllCanceled(t *testing.T) {
	cert := newTestCert(t)
	good := startPQTLSServer(t, cert, "prefer", "", "")
	accepted := make(chan struct{}, 100)
	// A TLS server that answers the default client, then stalls every later
	// connection: the enumeration of this endpoint is in flight at cancel.
	var mu sync.Mutex
	conns := 0
	stall := listen(t, func(c net.Conn) {
		mu.Lock()
		conns++
		n := conns
		mu.Unlock()
		if n == 1 {
			b, err := net.Dial("tcp", good)
			if err != nil {
				c.Close()
				return
			}
			go func() { io.Copy(b, c); b.Close() }()
			io.Copy(c, b)
			c.Close()
			return
		}
		accepted <- struct{}{}
		defer c.Close()
		io.Copy(io.Discard, c)
	})
	targets := []Target{target(t, good), target(t, stall)}
	for i := 0; i < 5; i++ {
		targets = append(targets, target(t, stall))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []Result)
	go func() {
		// Concurrency 1: the first target finishes, the second stalls, the
		// rest never start.
		done <- ScanAll(ctx, targets, Options{Enumerate: true, Concurrency: 1, Timeout: time.Hour, Retries: -1})
	}()
	<-accepted
	cancel()
	var res []Result
	select {
	case res = <-done:
	case <-time.After(time.Minute):
		t.Fatal("ScanAll did not return after cancel")
	}
	if len(res) != len(targets) {
		t.Fatalf("%d results for %d targets", len(res), len(targets))
	}
	if res[0].Verdict != VerdictPQReady {
		t.Errorf("finished endpoint: %s (%s), want pq_ready", res[0].Verdict, res[0].Reason)
	}
	for i, r := range res[1:] {
		if r.Verdict != VerdictTimeout || r.Reason != "canceled" {
			t.Errorf("endpoint %d: %s (%s), want timeout (canceled)", i+1, r.Verdict, r.Reason)
		}
	}
}

// TestScanAllInvalidTarget: a target ScanOne refuses is reported as such,
// not as "canceled" when nothing was cancelled.
func TestScanAllInvalidTarget(t *testing.T) {
	res := ScanAll(context.Background(), []Target{{Input: "bad", Host: "example.invalid", Port: 0}}, Options{})
	if len(res) != 1 || res[0].Verdict != VerdictUnreachable || res[0].Reason != "invalid_target" || !strings.Contains(res[0].Error, "port 1-65535") {
		t.Errorf("%+v", res)
	}
}

func TestExpiryNotes(t *testing.T) {
	for _, tc := range []struct {
		left time.Duration
		want string
	}{
		{2 * time.Hour, "expires in less than a day"},
		{50 * time.Hour, "expires in 2 day(s)"},
		{-time.Hour, "expired on"},
		{90 * 24 * time.Hour, ""},
	} {
		r := Result{Versions: []string{"TLS 1.3"}, Certificates: []CertInfo{{NotAfter: time.Now().Add(tc.left), SignatureAlgorithm: "ECDSA-SHA256"}}}
		decide(&r, true)
		notes := strings.Join(r.Notes, "\n")
		if tc.want == "" && strings.Contains(notes, "expire") || tc.want != "" && !strings.Contains(notes, tc.want) {
			t.Errorf("%v left: notes %q, want %q", tc.left, notes, tc.want)
		}
	}
}

// TestMTLSWithoutClientCertGetsANote: an endpoint that requires a client
// certificate, scanned without one, keeps its key-exchange verdict and
// says why the server rejected the scanner; with --cert/--key no note.
func TestMTLSWithoutClientCertGetsANote(t *testing.T) {
	cert := newTestCert(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.tls}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: cert.pool}
	addr := listen(t, func(c net.Conn) {
		defer c.Close()
		tc := tls.Server(c, cfg)
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		if tc.Handshake() == nil {
			io.Copy(io.Discard, tc)
		}
	})
	r, err := ScanOne(context.Background(), target(t, addr), Options{Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != VerdictPQReady || !slices.Contains(r.Notes, NoteClientCert) {
		t.Errorf("without a client certificate: %s, notes %q", r.Verdict, r.Notes)
	}
	r, _ = ScanOne(context.Background(), target(t, addr), Options{Timeout: 3 * time.Second, ClientCert: &cert.tls})
	if r.Verdict != VerdictPQReady || slices.Contains(r.Notes, NoteClientCert) {
		t.Errorf("with a client certificate: %s, notes %q", r.Verdict, r.Notes)
	}
	plain := startPQTLSServer(t, cert, "prefer", "", "")
	if r, _ := ScanOne(context.Background(), target(t, plain), Options{Timeout: 3 * time.Second}); slices.Contains(r.Notes, NoteClientCert) {
		t.Error("note on a server that asks for no certificate")
	}
}

// TestConnectionCounts pins the connection counts docs/SCAN.md gives for
// pqtls servers ("How it probes").
func TestConnectionCounts(t *testing.T) {
	cert := newTestCert(t)
	for mode, want := range map[string]int{"require": 11, "prefer": 23} {
		r, err := ScanOne(context.Background(), target(t, startPQTLSServer(t, cert, mode, "", "")), Options{Enumerate: true, Timeout: 5 * time.Second})
		if err != nil || r.Connections != want {
			t.Errorf("%s server: %d connections (%v), docs/SCAN.md says %d", mode, r.Connections, err, want)
		}
	}
}
