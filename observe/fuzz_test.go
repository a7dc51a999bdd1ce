package observe

import (
	"bytes"
	"encoding/binary"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"
)

// recordedPackets returns the packets of the committed real capture.
func recordedPackets(tb testing.TB) [][]byte {
	tb.Helper()
	f, err := os.Open("testdata/interop.pcap")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			return out
		}
		out = append(out, data)
	}
}

// packPackets encodes packets as [2-byte length][bytes]..., the input
// format of FuzzPackets.
func packPackets(pkts [][]byte) []byte {
	var b []byte
	for _, p := range pkts {
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
		b = append(b, p...)
	}
	return b
}

func checkFlows(t *testing.T, flows []*Flow, st Stats) {
	if int64(len(flows)) != st.Flows {
		t.Fatalf("%d flows emitted, stats say %d", len(flows), st.Flows)
	}
	for _, f := range flows {
		if f.Schema != Schema || !slices.Contains(Outcomes, f.Outcome) || f.OfferedGroups == nil || f.KeyShares == nil {
			t.Fatalf("bad flow record %+v", f)
		}
		if (f.Outcome == OutcomeFailed || f.Outcome == OutcomeIncomplete) && f.Reason == "" {
			t.Fatalf("%s flow without a reason: %+v", f.Outcome, f)
		}
	}
	if st.ActiveFlows != 0 {
		t.Fatalf("%d flows left after Flush", st.ActiveFlows)
	}
}

// FuzzPackets feeds arbitrary packet sequences (Ethernet link type) through
// decoding, reassembly and handshake parsing. Seeds: the real captures.
func FuzzPackets(f *testing.F) {
	// Windows of the real capture, each holding at least one handshake
	// flight. (Small seeds: the fuzzer minimizes every new input, which is
	// slow on a 30 KB one.)
	pkts := recordedPackets(f)
	for i := 0; i+6 <= len(pkts); i += 3 {
		f.Add(packPackets(pkts[i : i+6]))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var flows []*Flow
		a := NewAnalyzer(Options{MaxFlows: 8, MaxHandshakeBytes: 8 << 10}, func(fl *Flow) { c := *fl; flows = append(flows, &c) })
		ts := time.Unix(1700000000, 0)
		for len(data) >= 2 {
			n := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			n = min(n, len(data))
			a.Packet(ts, LinkEthernet, data[:n])
			data = data[n:]
			ts = ts.Add(time.Millisecond)
		}
		a.Flush()
		checkFlows(t, flows, a.Stats())
	})
}

// FuzzCapture feeds arbitrary capture files (pcap, pcapng) to ReadCapture.
func FuzzCapture(f *testing.F) {
	b, err := os.ReadFile("testdata/interop.pcap")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[:min(len(b), 4096)])
	f.Add(b[:min(len(b), 12000)])
	f.Fuzz(func(t *testing.T, data []byte) {
		var flows []*Flow
		a := NewAnalyzer(Options{}, func(fl *Flow) { c := *fl; flows = append(flows, &c) })
		_ = ReadCapture(t.Context(), bytes.NewReader(data), FileOptions{}, a)
		a.Flush()
		checkFlows(t, flows, a.Stats())
	})
}

// FuzzDecodePacket checks the link/IP/TCP decoder on every link type.
func FuzzDecodePacket(f *testing.F) {
	for _, p := range recordedPackets(f)[:8] {
		f.Add(uint16(LinkEthernet), p)
		f.Add(uint16(LinkRaw), p[14:])
		f.Add(uint16(LinkSLL2), append(make([]byte, 20), p[14:]...))
	}
	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		var s segment
		if err := decodePacket(int(lt), data, &s); err == nil {
			if len(s.payload) > s.wireLen || s.wireLen < 0 {
				t.Fatalf("payload %d > wire length %d", len(s.payload), s.wireLen)
			}
		}
	})
}

var (
	reassemblyOnce   sync.Once
	reassemblyWrites []write
)

// FuzzReassembly checks that the analyzer's answer does not depend on how
// the bytes were segmented, reordered or duplicated, as long as every byte
// is captured: the fuzzer chooses the segment sizes, a permutation of the
// data segments and duplicates of some of them; the flow must always be
// the same hybrid flow.
func FuzzReassembly(f *testing.F) {
	reassemblyOnce.Do(func() {
		srv, cli := certs(f)
		reassemblyWrites = transcript(f, srv, cli, 3000)
	})
	f.Add(uint16(1448), []byte{})
	f.Add(uint16(100), []byte{3, 1, 4, 1, 5, 9, 2, 6})
	f.Add(uint16(0), []byte{0xff, 0, 0x80, 0x10})
	f.Fuzz(func(t *testing.T, mss uint16, perm []byte) {
		mss = 64 + mss%1437 // realistic MSS values; below, the 256-segment reorder bound applies
		segs := segments(reassemblyWrites, int(mss))
		head, data, tail := segs[:3], slices.Clone(segs[3:len(segs)-2]), segs[len(segs)-2:]
		// Each byte of perm swaps two data segments, and its top bit also
		// duplicates one.
		for i, b := range perm {
			if len(data) < 2 || i > 256 {
				break
			}
			x, y := int(b)%len(data), (int(b)*7+i)%len(data)
			data[x], data[y] = data[y], data[x]
			if b&0x80 != 0 && len(data) < 4000 {
				data = append(data, data[x])
			}
		}
		all := append(append(slices.Clone(head), data...), tail...)
		flows, _ := analyze(t, capture(t, all, 0), Options{})
		if len(flows) != 1 {
			t.Fatalf("%d flows", len(flows))
		}
		fl := flows[0]
		if fl.Outcome != OutcomeHybrid || fl.SelectedGroup != "X25519MLKEM768" || fl.SNI != "example.test" ||
			!reflect.DeepEqual(fl.KeyShares, []KeyShare{{"X25519MLKEM768", 1216}, {"x25519", 32}}) || fl.ServerShareBytes != 1120 {
			t.Fatalf("mss %d: got %+v", mss, fl)
		}
	})
}
