package observe

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls/internal/testpeer"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// hybridWrites is a real Go crypto/tls handshake negotiating X25519MLKEM768
// followed by 64 KiB of application data.
func hybridWrites(t testing.TB) []write {
	srv, cli := certs(t)
	cli.NextProtos = []string{"h2", "http/1.1"}
	return transcript(t, srv, cli, 64<<10)
}

func capture(t testing.TB, segs []seg, snaplen int) []byte {
	var b bytes.Buffer
	pcapOf(t, &b, cliAddr, srvAddr, segs, snaplen, t0)
	return b.Bytes()
}

func oneFlow(t *testing.T, flows []*Flow) *Flow {
	t.Helper()
	if len(flows) != 1 {
		t.Fatalf("got %d flows, want 1: %+v", len(flows), flows)
	}
	return flows[0]
}

// checkHybrid asserts the fields every variant of the hybrid capture must
// reproduce exactly, whatever the packet-level damage.
func checkHybrid(t *testing.T, f *Flow) {
	t.Helper()
	want := Flow{
		Schema: Schema, Client: "10.0.0.1:40000", Server: "10.0.0.2:443", SNI: "example.test",
		ALPNOffered: []string{"h2", "http/1.1"}, Version: "TLS 1.3",
		OfferedVersions: []string{"TLS 1.3", "TLS 1.2"},
		KeyShares:       []KeyShare{{"X25519MLKEM768", 1216}, {"x25519", 32}},
		SelectedGroup:   "X25519MLKEM768", SelectedKind: "hybrid", ServerShareBytes: 1120,
		Outcome: OutcomeHybrid, ClientHelloRecords: 1,
	}
	got := Flow{Schema: f.Schema, Client: f.Client, Server: f.Server, SNI: f.SNI, ALPNOffered: f.ALPNOffered, Version: f.Version,
		OfferedVersions: f.OfferedVersions, KeyShares: f.KeyShares, SelectedGroup: f.SelectedGroup, SelectedKind: f.SelectedKind,
		ServerShareBytes: f.ServerShareBytes, Outcome: f.Outcome, ClientHelloRecords: f.ClientHelloRecords}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flow\n got %+v\nwant %+v", got, want)
	}
	if f.OfferedGroups[0] != "X25519MLKEM768" || !slices.Contains(f.OfferedGroups, "x25519") {
		t.Errorf("offered groups %v", f.OfferedGroups)
	}
	if f.ClientHelloBytes < 1300 || f.HRR || f.Reason != "" {
		t.Errorf("client_hello_bytes %d hrr %v reason %q", f.ClientHelloBytes, f.HRR, f.Reason)
	}
}

func TestHybridSplitClientHello(t *testing.T) {
	segs := segments(hybridWrites(t), 1448)
	flows, st := analyze(t, capture(t, segs, 0), Options{})
	f := oneFlow(t, flows)
	checkHybrid(t, f)
	if f.ClientHelloSegments != 2 {
		t.Errorf("client_hello_segments = %d, want 2 (a hybrid ClientHello does not fit a 1448-byte MSS)", f.ClientHelloSegments)
	}
	if len(f.Notes) != 0 {
		t.Errorf("notes %v on a clean capture", f.Notes)
	}
	if st.ActiveFlows != 0 || st.Flows != 1 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
	if !f.FirstSeen.Equal(t0) {
		t.Errorf("first_seen %v", f.FirstSeen)
	}
}

func TestSmallSegments(t *testing.T) {
	segs := segments(hybridWrites(t), 100)
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	checkHybrid(t, f)
	if want := (f.ClientHelloBytes + 5 + 99) / 100; f.ClientHelloSegments != want {
		t.Errorf("client_hello_segments = %d, want %d", f.ClientHelloSegments, want)
	}
}

func first(f []*Flow, _ Stats) []*Flow { return f }

// clientHelloSegs returns the indexes of the segments carrying the first
// client payload (the ClientHello) in segs.
func clientHelloSegs(segs []seg) []int {
	var idx []int
	for i, s := range segs {
		if s.fromClient && len(s.payload) > 0 {
			idx = append(idx, i)
			if s.flags&0x08 != 0 && len(idx) >= 2 {
				break
			}
		}
		if !s.fromClient && len(s.payload) > 0 {
			break
		}
	}
	return idx
}

func TestReordered(t *testing.T) {
	segs := segments(hybridWrites(t), 1448)
	ch := clientHelloSegs(segs)
	if len(ch) != 2 {
		t.Fatalf("ClientHello in %d segments", len(ch))
	}
	segs[ch[0]], segs[ch[1]] = segs[ch[1]], segs[ch[0]]
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	checkHybrid(t, f)
	if !slices.Contains(f.Notes, NoteOutOfOrder) || f.ClientHelloSegments != 2 {
		t.Errorf("notes %v segments %d", f.Notes, f.ClientHelloSegments)
	}
}

func TestServerFirstInCapture(t *testing.T) {
	// The server's answer is captured before the end of the ClientHello
	// (capture on a mirror port with skew): the flow must still resolve.
	segs := segments(hybridWrites(t), 1448)
	ch := clientHelloSegs(segs)
	var sh int
	for i, s := range segs {
		if !s.fromClient && len(s.payload) > 0 {
			sh = i
			break
		}
	}
	moved := segs[ch[1]]
	segs = slices.Delete(segs, ch[1], ch[1]+1)
	segs = slices.Insert(segs, sh, moved) // after the ServerHello
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	checkHybrid(t, f)
}

func TestRetransmissionAndOverlap(t *testing.T) {
	segs := segments(hybridWrites(t), 1448)
	ch := clientHelloSegs(segs)
	a, b := segs[ch[0]], segs[ch[1]]
	// An exact retransmission of the first part, then a segment overlapping
	// both halves whose overlapping bytes differ from the first copy.
	over := append(append([]byte(nil), a.payload[1000:]...), b.payload[:40]...)
	for i := range 48 {
		over[i] ^= 0xff
	}
	extra := []seg{a, {fromClient: true, seq: a.seq + 1000, flags: flagACK, payload: over}}
	segs = slices.Insert(segs, ch[1], extra...)
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	checkHybrid(t, f)
	if !slices.Contains(f.Notes, NoteRetransmission) || !slices.Contains(f.Notes, NoteOverlapConflict) {
		t.Errorf("notes %v, want retransmission and overlap_conflict", f.Notes)
	}
}

func TestOverlapFillsHole(t *testing.T) {
	// Second half first, then a segment covering the whole ClientHello.
	segs := segments(hybridWrites(t), 1448)
	ch := clientHelloSegs(segs)
	a, b := segs[ch[0]], segs[ch[1]]
	whole := seg{fromClient: true, seq: a.seq, flags: flagACK, payload: append(append([]byte(nil), a.payload...), b.payload...)}
	segs[ch[0]] = b
	segs[ch[1]] = whole
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	checkHybrid(t, f)
}

func TestTruncatedBySnaplen(t *testing.T) {
	segs := segments(hybridWrites(t), 1448)
	flows, st := analyze(t, capture(t, segs, 200), Options{})
	f := oneFlow(t, flows)
	if f.Outcome != OutcomeIncomplete || f.Reason != ReasonSnaplen || f.SelectedGroup != "" || len(f.KeyShares) != 0 {
		t.Errorf("got outcome %q reason %q group %q shares %v; want incomplete/snaplen and nothing guessed", f.Outcome, f.Reason, f.SelectedGroup, f.KeyShares)
	}
	if f.ClientHelloBytes < 1300 {
		t.Errorf("declared client_hello_bytes %d", f.ClientHelloBytes)
	}
	if st.TruncatedPkts == 0 {
		t.Errorf("stats %+v: no truncated packet counted", st)
	}
}

func TestTruncatedAfterClientHello(t *testing.T) {
	// A snaplen that keeps the whole ClientHello (MSS 1000) but cuts the
	// server's larger segments: the ServerHello cannot be read.
	segs := segments(hybridWrites(t), 1000)
	for i := range segs {
		if !segs[i].fromClient && len(segs[i].payload) > 0 {
			segs[i].payload = append(segs[i].payload, make([]byte, 1000)...) // make server segments 2000 bytes
		}
	}
	// Recompute server sequence numbers after growing them.
	next := uint32(srvISN + 1)
	for i := range segs {
		if !segs[i].fromClient && i > 1 {
			segs[i].seq = next
			next += uint32(len(segs[i].payload))
		}
	}
	f := oneFlow(t, first(analyze(t, capture(t, segs, 1100), Options{})))
	if f.Outcome != OutcomeIncomplete || f.Reason != ReasonSnaplen || len(f.KeyShares) != 2 || f.SelectedGroup != "" {
		t.Errorf("got %+v", f)
	}
}

func TestHalfSeenFlow(t *testing.T) {
	segs := segments(hybridWrites(t), 1448)[3:] // no SYN, SYN-ACK, ACK
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	checkHybrid(t, f)
	if !slices.Contains(f.Notes, NoteNoSYN) {
		t.Errorf("notes %v, want no_syn", f.Notes)
	}
	// Picked up in the middle of the bulk data: nothing to report.
	all := segments(hybridWrites(t), 1448)
	flows, st := analyze(t, capture(t, all[len(all)-20:], 0), Options{})
	if len(flows) != 0 || st.Untracked != 1 {
		t.Errorf("midstream: %d flows, untracked %d", len(flows), st.Untracked)
	}
}

func TestMissingSegment(t *testing.T) {
	segs := segments(hybridWrites(t), 1448)
	ch := clientHelloSegs(segs)
	segs = slices.Delete(segs, ch[0], ch[0]+1) // first half never captured
	flows, _ := analyze(t, capture(t, segs, 0), Options{})
	for _, f := range flows {
		if f.Outcome != OutcomeIncomplete || f.SelectedGroup != "" {
			t.Errorf("a flow missing its ClientHello start was guessed: %+v", f)
		}
	}
	segs = segments(hybridWrites(t), 1448)
	ch = clientHelloSegs(segs)
	segs = slices.Delete(segs, ch[1], ch[1]+1) // second half never captured
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	if f.Outcome != OutcomeIncomplete || f.Reason != ReasonMissingSegments {
		t.Errorf("got outcome %q reason %q, want incomplete/missing_segments", f.Outcome, f.Reason)
	}
}

func TestHelloRetryRequest(t *testing.T) {
	srv, cli := certs(t)
	srv.CurvePreferences = []tls.CurveID{tls.CurveP256} // the client sends no P-256 share
	segs := segments(transcript(t, srv, cli, 1000), 1448)
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	if !f.HRR || f.HRRGroup != "secp256r1" || f.SelectedGroup != "secp256r1" || f.Outcome != OutcomeClassical {
		t.Errorf("got hrr %v %q selected %q outcome %q", f.HRR, f.HRRGroup, f.SelectedGroup, f.Outcome)
	}
	if !reflect.DeepEqual(f.RetryKeyShares, []KeyShare{{"secp256r1", 65}}) {
		t.Errorf("retry key shares %v", f.RetryKeyShares)
	}
	if !reflect.DeepEqual(f.KeyShares, []KeyShare{{"X25519MLKEM768", 1216}, {"x25519", 32}}) {
		t.Errorf("key shares %v", f.KeyShares)
	}
}

func TestTLS12(t *testing.T) {
	srv, cli := certs(t)
	cli.MaxVersion = tls.VersionTLS12
	cli.NextProtos = []string{"http/1.1"}
	srv.NextProtos = []string{"http/1.1"}
	segs := segments(transcript(t, srv, cli, 1000), 1448)
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	if f.Outcome != OutcomeTLS12 || f.Version != "TLS 1.2" || f.SelectedGroup != "x25519" || f.ServerShareBytes != 32 || f.ALPN != "http/1.1" {
		t.Errorf("got %+v", f)
	}
	if !slices.Contains(f.Notes, NoteDowngradeSentinel) {
		t.Errorf("notes %v: a TLS 1.3-capable server negotiating 1.2 sets the downgrade sentinel", f.Notes)
	}
	if !reflect.DeepEqual(f.OfferedVersions, []string{"TLS 1.2"}) || f.KeyShares == nil || len(f.KeyShares) != 0 {
		t.Errorf("offered versions %v key shares %v", f.OfferedVersions, f.KeyShares)
	}
	// A server that only speaks TLS 1.2 sets no sentinel.
	srv, cli = certs(t)
	srv.MaxVersion = tls.VersionTLS12
	f = oneFlow(t, first(analyze(t, capture(t, segments(transcript(t, srv, cli, 10), 1448), 0), Options{})))
	if f.Outcome != OutcomeTLS12 || len(f.Notes) != 0 || len(f.KeyShares) != 2 {
		t.Errorf("TLS 1.2-only server: outcome %q notes %v shares %v", f.Outcome, f.Notes, f.KeyShares)
	}
}

func TestResumption(t *testing.T) {
	srv, cli := certs(t)
	cli.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	w1 := transcript(t, srv, cli, 10) // the ticket arrives after the handshake
	w2 := transcript(t, srv, cli, 10)
	pw, b := newPcap()
	appendPackets(t, pw, cliAddr, srvAddr, segments(w1, 1448), 65535, t0)
	cli2 := netipFrom(cliAddr.Addr(), 40001)
	appendPackets(t, pw, cli2, srvAddr, segments(w2, 1448), 65535, t0.Add(time.Second))
	flows, _ := analyze(t, b.Bytes(), Options{})
	if len(flows) != 2 {
		t.Fatalf("%d flows", len(flows))
	}
	if flows[0].Resumption != "" || flows[0].PSKOffered {
		t.Errorf("first flow resumption %q psk %v", flows[0].Resumption, flows[0].PSKOffered)
	}
	if flows[1].Resumption != "psk" || !flows[1].PSKOffered || flows[1].Outcome != OutcomeHybrid {
		t.Errorf("second flow resumption %q psk %v outcome %q", flows[1].Resumption, flows[1].PSKOffered, flows[1].Outcome)
	}
}

func TestResetAfterClientHello(t *testing.T) {
	w := hybridWrites(t)
	segs := segments(w[:1], 1448) // the ClientHello only
	segs = segs[:len(segs)-2]     // no FIN
	segs = append(segs, seg{fromClient: false, seq: srvISN + 1, flags: flagRST | flagACK})
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	if f.Outcome != OutcomeFailed || f.Reason != "reset" || len(f.KeyShares) != 2 {
		t.Errorf("got outcome %q reason %q", f.Outcome, f.Reason)
	}
}

func TestAlertAfterClientHello(t *testing.T) {
	srv, cli := certs(t)
	cli.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768}
	srv.CurvePreferences = []tls.CurveID{tls.CurveP256}
	segs := segments(transcript(t, srv, cli, 0), 1448)
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	if f.Outcome != OutcomeFailed || f.Reason != "alert_handshake_failure" {
		t.Errorf("got outcome %q reason %q", f.Outcome, f.Reason)
	}
}

func TestServerUnseen(t *testing.T) {
	var segs []seg
	for _, s := range segments(hybridWrites(t), 1448) {
		if s.fromClient {
			segs = append(segs, s)
		}
	}
	segs = segs[:len(segs)-1] // no FIN either
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	if f.Outcome != OutcomeIncomplete || f.Reason != ReasonNoServerHello || !slices.Contains(f.Notes, NoteServerUnseen) {
		t.Errorf("got %q %q %v", f.Outcome, f.Reason, f.Notes)
	}
}

func TestNotTLSAndMalformed(t *testing.T) {
	http := []write{{true, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}, {false, []byte("HTTP/1.1 200 OK\r\n\r\n")}}
	flows, st := analyze(t, capture(t, segments(http, 1448), 0), Options{})
	if len(flows) != 0 || st.NotTLS != 1 {
		t.Errorf("http: %d flows, not_tls %d", len(flows), st.NotTLS)
	}
	w := hybridWrites(t)
	ch := append([]byte(nil), w[0].data...)
	ch[5+4+2+32+1+32] ^= 0x40 // corrupt the cipher_suites length
	bad := append([]write{{true, ch}}, w[1:]...)
	flows, st = analyze(t, capture(t, segments(bad, 1448), 0), Options{})
	if len(flows) != 0 || st.Malformed != 1 {
		t.Errorf("malformed: %d flows, malformed %d", len(flows), st.Malformed)
	}
}

func TestIPv6AndUnknownGroup(t *testing.T) {
	w := hybridWrites(t)
	// Rewrite the first offered group codepoint in the ClientHello to an
	// unassigned one by patching the supported_groups extension.
	ch := append([]byte(nil), w[0].data...)
	i := bytes.Index(ch, []byte{0x00, 0x0a}) // supported_groups extension type
	for ; i >= 0; i = bytes.Index(ch[i+1:], []byte{0x00, 0x0a}) + i + 1 {
		if i+8 <= len(ch) && ch[i+6] == 0x11 && ch[i+7] == 0xec {
			break
		}
	}
	if i < 0 {
		t.Fatal("supported_groups not found")
	}
	ch[i+6], ch[i+7] = 0x7a, 0x7a // GREASE
	w[0].data = ch
	var b bytes.Buffer
	c6, s6 := netipMust("[2001:db8::1]:40000"), netipMust("[2001:db8::2]:443")
	pcapOf(t, &b, c6, s6, segments(w, 1400), 0, t0)
	f := oneFlow(t, first(analyze(t, b.Bytes(), Options{})))
	if f.Client != "[2001:db8::1]:40000" || f.OfferedGroups[0] != "0x7a7a" || f.Outcome != OutcomeHybrid {
		t.Errorf("client %q groups %v outcome %q", f.Client, f.OfferedGroups, f.Outcome)
	}
}

func TestBoundedMemory(t *testing.T) {
	// 2000 flows, one every 100 ms of capture time, none closed: idle
	// eviction must keep the table small, and every flow is still reported.
	srv, cli := certs(t)
	w := transcript(t, srv, cli, 4096)
	pw, b := newPcap()
	for i := range 2000 {
		segs := segments(w, 1448)
		segs = segs[:len(segs)-2] // no FINs
		c := cliAddr.Addr().Next()
		for range i % 200 {
			c = c.Next()
		}
		appendPackets(t, pw, netipFrom(c, uint16(20000+i)), srvAddr, segs, 65535, t0.Add(time.Duration(i)*100*time.Millisecond))
	}
	flows, st := analyze(t, b.Bytes(), Options{IdleTimeout: 5 * time.Second})
	if len(flows) != 2000 {
		t.Fatalf("%d flows", len(flows))
	}
	if st.PeakFlows > 100 {
		t.Errorf("peak %d flows in the table: idle flows are not evicted", st.PeakFlows)
	}
	for _, f := range flows {
		if f.Outcome != OutcomeHybrid {
			t.Fatalf("flow %s: %s", f.Client, f.Outcome)
		}
	}
	// A full table drops new flows instead of growing.
	_, st = analyze(t, b.Bytes(), Options{IdleTimeout: time.Hour, MaxFlows: 50})
	if st.PeakFlows > 50 || st.DroppedFlows == 0 {
		t.Errorf("max flows 50: peak %d dropped %d", st.PeakFlows, st.DroppedFlows)
	}
}

func TestSummaryAndProm(t *testing.T) {
	srv, cli := certs(t)
	srv12, cli12 := certs(t)
	srv12.MaxVersion = tls.VersionTLS12
	pw, b := newPcap()
	other := netipMust("10.0.0.3:8443")
	appendPackets(t, pw, cliAddr, srvAddr, segments(transcript(t, srv, cli, 10), 1448), 65535, t0)
	appendPackets(t, pw, netipMust("10.0.0.1:40001"), srvAddr, segments(transcript(t, srv, cli, 10), 1448), 65535, t0)
	appendPackets(t, pw, cliAddr, other, segments(transcript(t, srv12, cli12, 10), 1448), 65535, t0)
	flows, _ := analyze(t, b.Bytes(), Options{})
	s := NewSummary(false)
	for _, f := range flows {
		s.Add(f)
	}
	var out strings.Builder
	if err := s.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "10.0.0.3:8443") || !strings.HasSuffix(lines[1], " 0.0") ||
		!strings.HasPrefix(lines[2], "10.0.0.2:443") || !strings.HasSuffix(lines[2], " 100.0") || !strings.HasPrefix(lines[3], "TOTAL") {
		t.Errorf("table:\n%s", out.String())
	}
	byClient := NewSummary(true)
	for _, f := range flows {
		byClient.Add(f)
	}
	if rows := byClient.Rows(); len(rows) != 1 || rows[0].Key != "10.0.0.1" || rows[0].Flows != 3 {
		t.Errorf("by client: %+v", rows)
	}
}

func TestPortReuseAndHalfClose(t *testing.T) {
	w := hybridWrites(t)
	// The client half-closes right after its ClientHello; the server still
	// answers: not a failure.
	segs := segments(w, 1448)
	ch := clientHelloSegs(segs)
	fin := seg{fromClient: true, seq: segs[ch[1]].seq + uint32(len(segs[ch[1]].payload)), flags: flagFIN | flagACK}
	half := slices.Insert(slices.Clone(segs), ch[1]+1, fin)
	f := oneFlow(t, first(analyze(t, capture(t, half, 0), Options{})))
	checkHybrid(t, f)
	// The same 4-tuple used twice in a row (no RST, the second SYN arrives
	// while the first flow is still remembered): two flows.
	pw, b := newPcap()
	conn1 := segments(w, 1448)
	appendPackets(t, pw, cliAddr, srvAddr, conn1[:len(conn1)-1], 65535, t0) // the client's FIN is lost
	appendPackets(t, pw, cliAddr, srvAddr, segments(w, 1448), 65535, t0.Add(time.Second))
	flows, _ := analyze(t, b.Bytes(), Options{})
	if len(flows) != 2 || flows[0].Outcome != OutcomeHybrid || flows[1].Outcome != OutcomeHybrid {
		t.Errorf("port reuse: %d flows", len(flows))
	}
}

func TestServerSideOnly(t *testing.T) {
	// A one-way capture: only the server's packets (SYN-ACK included).
	var segs []seg
	for _, s := range segments(hybridWrites(t), 1448) {
		if !s.fromClient {
			segs = append(segs, s)
		}
	}
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	if f.Outcome != OutcomeHybrid || f.SelectedGroup != "X25519MLKEM768" || f.Client != "10.0.0.1:40000" ||
		!reflect.DeepEqual(f.Notes, []string{NoteClientHelloUnseen}) || len(f.KeyShares) != 0 {
		t.Errorf("server side only: %+v", f)
	}
	// Without the SYN-ACK either, and TLS 1.2.
	srv, cli := certs(t)
	cli.MaxVersion = tls.VersionTLS12
	segs = nil
	for _, s := range segments(transcript(t, srv, cli, 1000), 1448)[3:] {
		if !s.fromClient {
			segs = append(segs, s)
		}
	}
	f = oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	if f.Outcome != OutcomeTLS12 || f.SelectedGroup != "x25519" || !slices.Contains(f.Notes, NoteNoSYN) || !slices.Contains(f.Notes, NoteClientHelloUnseen) {
		t.Errorf("server side only, TLS 1.2: %+v", f)
	}
}

func TestPostgresSSLRequest(t *testing.T) {
	w := hybridWrites(t)
	pg := append([]write{{true, []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}}, {false, []byte("S")}}, w...)
	f := oneFlow(t, first(analyze(t, capture(t, segments(pg, 1448), 0), Options{})))
	checkHybrid(t, f)
	if f.ClientHelloSegments != 2 || !reflect.DeepEqual(f.Notes, []string{NotePostgresSSLRequest}) {
		t.Errorf("segments %d notes %v", f.ClientHelloSegments, f.Notes)
	}
	// The server refuses TLS ('N'): not a TLS flow.
	refused := []write{{true, []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}}, {false, []byte("N")}, {true, []byte{0, 0, 0, 9, 0, 3, 0, 0, 0}}}
	flows, st := analyze(t, capture(t, segments(refused, 1448), 0), Options{})
	if len(flows) != 0 || st.NotTLS != 1 {
		t.Errorf("refused: %d flows, not_tls %d", len(flows), st.NotTLS)
	}
}

func TestResetByClient(t *testing.T) {
	w := hybridWrites(t)
	segs := segments(w[:1], 1448)
	segs = segs[:len(segs)-2]
	segs = append(segs, seg{fromClient: true, seq: segs[len(segs)-1].seq + uint32(len(segs[len(segs)-1].payload)), flags: flagRST | flagACK})
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	if f.Outcome != OutcomeFailed || f.Reason != "reset" || !reflect.DeepEqual(f.Notes, []string{NoteResetByClient}) {
		t.Errorf("got %q %q %v", f.Outcome, f.Reason, f.Notes)
	}
}

func TestHRRServerHelloBeforeSecondClientHello(t *testing.T) {
	// A capture where the ServerHello answering the second ClientHello is
	// recorded before it (two capture points merged, skewed clocks).
	srv, cli := certs(t)
	srv.CurvePreferences = []tls.CurveID{tls.CurveP256}
	w := transcript(t, srv, cli, 100)
	segs := segments(w, 1448)
	// Find the second ClientHello (the second client payload that starts
	// with a handshake record) and the ServerHello after it.
	ch2, sh2 := -1, -1
	seenCH := 0
	for i, s := range segs {
		if s.fromClient && looksLikeHello(s.payload, 1) {
			seenCH++
			if seenCH == 2 {
				ch2 = i
			}
		}
		if ch2 >= 0 && !s.fromClient && len(s.payload) > 0 {
			sh2 = i
			break
		}
	}
	if ch2 < 0 || sh2 < 0 {
		t.Fatalf("second ClientHello %d, ServerHello %d", ch2, sh2)
	}
	moved := segs[sh2]
	segs = slices.Delete(segs, sh2, sh2+1)
	segs = slices.Insert(segs, ch2, moved)
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	if !f.HRR || f.SelectedGroup != "secp256r1" || f.Outcome != OutcomeClassical || len(f.RetryKeyShares) != 1 {
		t.Errorf("got %+v", f)
	}
}

// A SYN flood on a full table: new flows are dropped, and the table is not
// swept once per packet (each sweep walks every flow).
func TestFullTableSweepIsRateLimited(t *testing.T) {
	pw, b := newPcap()
	syn := []seg{{fromClient: true, seq: cliISN, flags: flagSYN}}
	for i := range 3000 {
		// 3000 SYNs within 300 ms of capture time.
		appendPackets(t, pw, netipFrom(cliAddr.Addr(), uint16(10000+i)), srvAddr, syn, 65535, t0.Add(time.Duration(i)*100*time.Microsecond))
	}
	a := NewAnalyzer(Options{MaxFlows: 100}, nil)
	if err := ReadCapture(t.Context(), bytes.NewReader(b.Bytes()), FileOptions{}, a); err != nil {
		t.Fatal(err)
	}
	st := a.Stats()
	if st.DroppedFlows != 2900 || st.PeakFlows != 100 {
		t.Errorf("dropped %d, peak %d; want 2900 and 100", st.DroppedFlows, st.PeakFlows)
	}
	if a.sweeps > 2 {
		t.Errorf("the full table was swept %d times for 2900 packets", a.sweeps)
	}
}

// A flow whose record is out keeps a tombstone (so the rest of the
// connection is not counted again) that holds no part of the record.
func TestTombstoneHoldsNoRecord(t *testing.T) {
	segs := segments(hybridWrites(t), 1448)
	segs = segs[:len(segs)-2] // still open at the end of the capture
	var flows []*Flow
	a := NewAnalyzer(Options{}, func(f *Flow) { flows = append(flows, f) })
	if err := ReadCapture(t.Context(), bytes.NewReader(capture(t, segs, 0)), FileOptions{}, a); err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 || flows[0].Outcome != OutcomeHybrid || len(flows[0].OfferedGroups) == 0 {
		t.Fatalf("flows %+v", flows)
	}
	if len(a.flows) != 1 {
		t.Fatalf("%d flows in the table, want the tombstone", len(a.flows))
	}
	for _, f := range a.flows {
		if f.state != stDone || f.rec.OfferedGroups != nil || f.rec.KeyShares != nil || f.rec.SNI != "" || f.ch != nil {
			t.Errorf("tombstone keeps the record: %+v", f.rec)
		}
	}
}

// A client that gives up after a HelloRetryRequest (it cannot, or will not,
// send a share of the group asked for) sends a plaintext alert: the flow
// failed, with that alert, and is not a malformed handshake.
func TestClientAlertAfterHRR(t *testing.T) {
	srv, cli := certs(t)
	srv.CurvePreferences = []tls.CurveID{tls.CurveP256}
	w := transcript(t, srv, cli, 0)
	if len(w) < 2 || !w[0].fromClient || w[1].fromClient {
		t.Fatalf("unexpected transcript shape")
	}
	ccs := []byte{0x14, 0x03, 0x03, 0x00, 0x01, 0x01}
	alert := []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x2f} // fatal illegal_parameter
	w = append(w[:2:2], write{fromClient: true, data: append(ccs, alert...)})
	flows, st := analyze(t, capture(t, segments(w, 1448), 0), Options{})
	f := oneFlow(t, flows)
	if f.Outcome != OutcomeFailed || f.Reason != "alert_illegal_parameter" || !f.HRR || f.HRRGroup != "secp256r1" || st.Malformed != 0 {
		t.Errorf("got outcome %q reason %q hrr %v %q, %d malformed", f.Outcome, f.Reason, f.HRR, f.HRRGroup, st.Malformed)
	}
}

// TCP Fast Open: the first part of the ClientHello rides in the SYN, whose
// payload starts one sequence number after the SYN's own (the SYN flag
// takes one).
func TestClientHelloInSYN(t *testing.T) {
	segs := segments(hybridWrites(t), 1448)
	if segs[3].seq != cliISN+1 || !segs[3].fromClient || len(segs[3].payload) == 0 {
		t.Fatalf("unexpected segment layout")
	}
	segs[0].payload = segs[3].payload                                                               // the SYN carries the first segment
	segs = append(segs[:3:3], segs[4:]...)                                                          // which is not sent again
	segs[2] = seg{fromClient: true, seq: cliISN + 1 + uint32(len(segs[0].payload)), flags: flagACK} // the client's ACK
	f := oneFlow(t, first(analyze(t, capture(t, segs, 0), Options{})))
	checkHybrid(t, f)
	if f.ClientHelloSegments != 2 || len(f.Notes) != 0 {
		t.Errorf("client_hello_segments %d notes %v", f.ClientHelloSegments, f.Notes)
	}
}

// One server address fronting many names (a CDN): the row's name counts
// stay bounded, and the most frequent name still wins.
func TestSummarySNIBounded(t *testing.T) {
	s := NewSummary(false)
	for i := range 5000 {
		s.Add(&Flow{Server: "192.0.2.1:443", SNI: fmt.Sprintf("site%d.example", i), Outcome: OutcomeHybrid})
		s.Add(&Flow{Server: "192.0.2.1:443", SNI: "www.example", Outcome: OutcomeHybrid})
	}
	rows := s.Rows()
	if len(rows) != 1 || rows[0].Flows != 10000 || rows[0].SNI != "www.example" {
		t.Fatalf("rows %+v", rows)
	}
	if n := len(rows[0].sni); n > maxSNIsPerRow {
		t.Errorf("%d names counted for one row", n)
	}
}

// The client's signature_algorithms are recorded per flow, with what they
// say about ML-DSA; a TLS 1.2-only client is flagged tls12_only, counted in
// pqtls_observe_client_auth_total and in the table's TLS1.2-ONLY column.
func TestAuthCapability(t *testing.T) {
	for _, c := range []struct {
		versions []uint16
		schemes  []tls.SignatureScheme
		want     string
	}{
		{[]uint16{tls.VersionTLS13, tls.VersionTLS12}, []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, 0x0905}, AuthCapMLDSA},
		{[]uint16{tls.VersionTLS13}, []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, tls.Ed25519}, AuthCapClassical},
		{[]uint16{tls.VersionTLS12}, []tls.SignatureScheme{0x0906}, AuthCapTLS12Only},
	} {
		if got := authCapability(c.versions, c.schemes); got != c.want {
			t.Errorf("authCapability(%v, %v) = %s, want %s", c.versions, c.schemes, got, c.want)
		}
	}
	srv, cli := certs(t)
	srv12, cli12 := certs(t)
	cli12.MaxVersion = tls.VersionTLS12
	pw, b := newPcap()
	appendPackets(t, pw, cliAddr, srvAddr, segments(transcript(t, srv, cli, 10), 1448), 65535, t0)
	appendPackets(t, pw, netipMust("10.0.0.1:40001"), srvAddr, segments(transcript(t, srv12, cli12, 10), 1448), 65535, t0)
	reg := prometheus.NewRegistry()
	rec, err := NewRecorder(reg)
	if err != nil {
		t.Fatal(err)
	}
	flows, _ := analyze(t, b.Bytes(), Options{})
	s := NewSummary(false)
	byCap := map[string]*Flow{}
	for _, f := range flows {
		rec.Flow(f)
		s.Add(f)
		byCap[f.AuthCapability] = f
	}
	f12 := byCap[AuthCapTLS12Only]
	if len(flows) != 2 || f12 == nil || !slices.Contains(f12.OfferedSignatureAlgorithms, "ecdsa_secp256r1_sha256") {
		t.Fatalf("flows by capability: %v", byCap)
	}
	f13 := byCap[AuthCapClassical]
	if f13 == nil {
		f13 = byCap[AuthCapMLDSA] // a Go 1.27 client offers ML-DSA
	}
	if f13 == nil || slices.Contains(f13.OfferedSignatureAlgorithms, "mldsa65") != (f13.AuthCapability == AuthCapMLDSA) || !slices.Contains(f13.OfferedSignatureAlgorithms, "rsa_pss_rsae_sha256") {
		t.Fatalf("TLS 1.3 client: %+v", f13)
	}
	if got := testpeer.Series(t, reg)["pqtls_observe_client_auth_total{capability=tls12_only}"]; got != 1 {
		t.Errorf("pqtls_observe_client_auth_total{capability=tls12_only} = %v, want 1", got)
	}
	if got := s.Total().AuthCaps[AuthCapTLS12Only]; got != 1 {
		t.Errorf("summary TLS1.2-ONLY = %d, want 1", got)
	}
}
