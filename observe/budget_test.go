package observe

import (
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

// Issue 11 item 9: with --max-flows 5 and 10 connections, 5 connections
// are dropped, not one per packet of theirs; the packets are counted apart.
func TestMaxFlowsCountsFlowsNotPackets(t *testing.T) {
	srv, cli := certs(t)
	segs := segments(transcript(t, srv, cli, 0), 1448)
	segs = segs[:len(segs)-2] // no FINs: every flow stays in the table
	perFlow := 0              // packets that would create a flow (not a lone ACK)
	for _, s := range segs {
		if s.flags&flagSYN != 0 || len(s.payload) > 0 {
			perFlow++
		}
	}
	if perFlow < 4 {
		t.Fatalf("only %d packets per flow: the test proves nothing", perFlow)
	}
	pw, b := newPcap()
	for i := range 10 {
		appendPackets(t, pw, netipFrom(cliAddr.Addr(), uint16(30000+i)), srvAddr, segs, 65535, t0.Add(time.Duration(i)*time.Second))
	}
	flows, st := analyze(t, b.Bytes(), Options{MaxFlows: 5, IdleTimeout: time.Hour})
	if len(flows) != 5 || st.PeakFlows != 5 {
		t.Errorf("%d flows reported, peak %d; want 5 and 5", len(flows), st.PeakFlows)
	}
	if st.DroppedFlows != 5 || st.DroppedPackets != int64(5*perFlow) {
		t.Errorf("dropped %d flows and %d packets, want 5 flows and %d packets", st.DroppedFlows, st.DroppedPackets, 5*perFlow)
	}
}

// The issue 11 risk "observe global memory budget": many flows that each
// buffer part of a ClientHello and never complete it stay under
// MaxBufferBytes; the oldest are decided as incomplete (buffer_budget) and
// counted, and a handshake that comes after them is still read.
func TestBufferBudgetEvictsOldest(t *testing.T) {
	srv, cli := certs(t)
	cli.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768}
	full := segments(transcript(t, srv, cli, 0), 1000)
	partial := full[:4] // SYN, SYN-ACK, ACK, the first 1000 bytes of the ClientHello
	if len(partial[3].payload) != 1000 || !partial[3].fromClient {
		t.Fatalf("unexpected segments: %+v", partial[3])
	}
	const n, budget = 200, 64 << 10
	pw, b := newPcap()
	for i := range n {
		appendPackets(t, pw, netipFrom(cliAddr.Addr(), uint16(30000+i)), srvAddr, partial, 65535, t0.Add(time.Duration(i)*time.Second))
	}
	appendPackets(t, pw, netipFrom(cliAddr.Addr(), 40000), srvAddr, full, 65535, t0.Add(n*time.Second))

	var flows []*Flow
	a := NewAnalyzer(Options{MaxBufferBytes: budget, IdleTimeout: time.Hour}, func(f *Flow) { c := *f; flows = append(flows, &c) })
	if err := ReadCapture(t.Context(), bytes.NewReader(b.Bytes()), FileOptions{}, a); err != nil {
		t.Fatal(err)
	}
	st := a.Stats()
	if st.PeakBufferedBytes > budget || st.PeakBufferedBytes < budget/2 {
		t.Errorf("peak %d bytes buffered, budget %d", st.PeakBufferedBytes, budget)
	}
	if st.EvictedFlows < n/2 || st.EvictedFlows >= n {
		t.Errorf("%d of %d flows evicted", st.EvictedFlows, n)
	}
	// Evicted first: the oldest. The complete handshake is read in full.
	evicted := 0
	for i, f := range flows {
		if f.Reason == ReasonBufferBudget {
			if f.Outcome != OutcomeIncomplete || f.Client != netipFrom(cliAddr.Addr(), uint16(30000+i)).String() {
				t.Errorf("record %d: %s %s %s, want the oldest flows first, incomplete", i, f.Client, f.Outcome, f.Reason)
			}
			evicted++
		}
	}
	if int64(evicted) != st.EvictedFlows {
		t.Errorf("%d buffer_budget records, %d evicted", evicted, st.EvictedFlows)
	}
	if last := flows[len(flows)-1]; last.Outcome != OutcomeHybrid || last.Client != netipFrom(cliAddr.Addr(), 40000).String() {
		t.Errorf("last record %s %s, want the complete hybrid handshake", last.Client, last.Outcome)
	}
	a.Flush()
	checkSchema(t, flows)
	if st := a.Stats(); st.BufferedBytes != 0 || len(flows) != n+1 || a.budget.oldest != nil {
		t.Errorf("after Flush: %d bytes buffered, %d records (want 0 and %d)", st.BufferedBytes, len(flows), n+1)
	}
}

var updateTestdata = flag.Bool("update", false, "rewrite generated files in testdata/")

// TestOpenFlowsCapture keeps testdata/openflows.pcap, the capture of the CLI
// tests of --max-flows and --max-buffer-bytes: 10 hybrid handshakes on 10
// connections that stay open (no FIN), one second apart. go test -update
// rewrites it.
func TestOpenFlowsCapture(t *testing.T) {
	const path = "testdata/openflows.pcap"
	if *updateTestdata {
		srv, cli := certs(t)
		cli.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768}
		segs := segments(transcript(t, srv, cli, 0), 1448)
		segs = segs[:len(segs)-2]
		pw, b := newPcap()
		for i := range 10 {
			appendPackets(t, pw, netipFrom(cliAddr.Addr(), uint16(30000+i)), srvAddr, segs, 65535, t0.Add(time.Duration(i)*time.Second))
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flows, st := analyze(t, b, Options{IdleTimeout: time.Hour})
	if len(flows) != 10 || st.PeakFlows != 10 {
		t.Fatalf("%s: %d flows, peak %d; want 10 open hybrid flows", path, len(flows), st.PeakFlows)
	}
	for _, f := range flows {
		if f.Outcome != OutcomeHybrid {
			t.Errorf("%s: %s", f.Client, f.Outcome)
		}
	}
}

// The summary table is bounded on an endless stream of distinct addresses
// (a log read with tail -F, a scan of the whole address space): beyond
// maxRows, flows of new addresses are counted in one "(other)" row.
func TestSummaryRowsBounded(t *testing.T) {
	s := NewSummary(false)
	for i := range maxRows + 5000 {
		s.Add(&Flow{Server: fmt.Sprintf("10.%d.%d.%d:443", i>>16&255, i>>8&255, i&255), Outcome: OutcomeHybrid})
	}
	rows := s.Rows()
	var other *Row
	for _, r := range rows {
		if r.Key == OtherRow {
			other = r
		}
	}
	if len(rows) != maxRows+1 || other == nil || other.Flows != 5000 || s.Total().Flows != maxRows+5000 {
		t.Errorf("%d rows, other %+v, total %d", len(rows), other, s.Total().Flows)
	}
}
