package observe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

func readAll(t *testing.T, capture []byte, opts FileOptions) ([]*Flow, Stats, error) {
	t.Helper()
	var flows []*Flow
	a := NewAnalyzer(Options{}, func(f *Flow) { c := *f; flows = append(flows, &c) })
	err := ReadCapture(t.Context(), bytes.NewReader(capture), opts, a)
	a.Flush()
	return flows, a.Stats(), err
}

// TestRecordedCapture reads the committed real capture (Node 26, Chromium,
// nginx; see TestInteropCaptures) without any peer installed.
func TestRecordedCapture(t *testing.T) {
	b, err := os.ReadFile("testdata/interop.pcap")
	if err != nil {
		t.Fatal(err)
	}
	flows, st, err := readAll(t, b, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range flows {
		got[f.SNI] += f.Outcome + "/" + f.SelectedGroup + " "
	}
	want := map[string]string{
		"hybrid.test": "hybrid/X25519MLKEM768 ", "localhost": "hybrid/X25519MLKEM768 hybrid/X25519MLKEM768 ",
		"nginx.test": "classical/x25519 ", "tls12.test": "tls12/x25519 ", "hrr.test": "hybrid/X25519MLKEM768 ", "reset.test": "failed/ ",
	}
	if !reflect.DeepEqual(got, want) || st.Malformed != 0 || st.Undecodable != 0 {
		t.Errorf("got %v stats %+v", got, st)
	}
}

func TestPcapngMultiInterface(t *testing.T) {
	// The same hybrid flow written to pcapng on two interfaces of different
	// link types (Ethernet, raw IP) with nanosecond timestamps.
	segs := segments(hybridWrites(t), 1448)
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, TimestampResolution: 9},
		pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw, TimestampResolution: 6})
	if err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	start := t0.Add(123456789 * time.Nanosecond)
	other := netipMust("10.0.0.9:40000")
	for i, s := range segs {
		p := packet(t, buf, cliAddr, srvAddr, s)
		ts := start.Add(time.Duration(i) * time.Millisecond)
		w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(p), Length: len(p), InterfaceIndex: 0}, p)
		p = packet(t, buf, other, srvAddr, s)[14:]
		w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(p), Length: len(p), InterfaceIndex: raw}, p)
	}
	w.Flush()
	flows, _, err := readAll(t, b.Bytes(), FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 2 {
		t.Fatalf("%d flows, want one per interface", len(flows))
	}
	for _, f := range flows {
		checkHybrid(t, withClient(f, "10.0.0.1:40000"))
	}
	if !flows[0].FirstSeen.Equal(start) {
		t.Errorf("first_seen %v, want %v (nanosecond resolution)", flows[0].FirstSeen, start)
	}
}

func withClient(f *Flow, c string) *Flow { g := *f; g.Client = c; return &g }

func TestEditcapFormats(t *testing.T) {
	// Files written by Wireshark's own tools: pcapng and nanosecond pcap.
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Skip("editcap (Wireshark) not installed")
	}
	orig, _ := os.ReadFile("testdata/interop.pcap")
	want, _, _ := readAll(t, orig, FileOptions{})
	for _, format := range []string{"pcapng", "nsecpcap"} {
		out := filepath.Join(t.TempDir(), "c."+format)
		if b, err := exec.Command(editcap, "-F", format, "testdata/interop.pcap", out).CombinedOutput(); err != nil {
			t.Fatalf("editcap: %v %s", err, b)
		}
		b, _ := os.ReadFile(out)
		got, _, err := readAll(t, b, FileOptions{})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: err %v, flows differ from the pcap original", format, err)
		}
	}
}

func TestFilter(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed: --filter needs it")
	}
	pw, b := newPcap()
	w := hybridWrites(t)
	appendPackets(t, pw, cliAddr, srvAddr, segments(w, 1448), 65535, t0)
	appendPackets(t, pw, cliAddr, netipMust("10.0.0.2:8443"), segments(w, 1448), 65535, t0)
	flows, st, err := readAll(t, b.Bytes(), FileOptions{Filter: "tcp port 8443"})
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 || flows[0].Server != "10.0.0.2:8443" || st.FiltersOut == 0 {
		t.Errorf("filter kept %d flows (%v), filtered %d packets", len(flows), flows, st.FiltersOut)
	}
	if _, _, err := readAll(t, b.Bytes(), FileOptions{Filter: "tcp port"}); err == nil {
		t.Error("invalid filter accepted")
	}
}

func TestDamagedCaptures(t *testing.T) {
	good, _ := os.ReadFile("testdata/interop.pcap")
	// A packet header claiming 1 GiB: an error, not an allocation.
	huge := append([]byte(nil), good[:24+16]...)
	binary.LittleEndian.PutUint32(huge[24+8:], 1<<30)
	if _, _, err := readAll(t, huge, FileOptions{}); !errors.Is(err, errCapture) {
		t.Errorf("1 GiB packet: err %v", err)
	}
	// Cut in the middle of a packet: what was read is kept.
	flows, _, err := readAll(t, good[:len(good)-10], FileOptions{})
	if err != nil || len(flows) != 7 {
		t.Errorf("cut capture: %d flows, err %v", len(flows), err)
	}
	// An unsupported link type (802.11): every packet counted, none guessed.
	wifi := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(wifi[20:], 105)
	if flows, st, err := readAll(t, wifi, FileOptions{}); err != nil || len(flows) != 0 || st.UnknownLink != 104 {
		t.Errorf("802.11 capture: %d flows, %d unsupported, err %v", len(flows), st.UnknownLink, err)
	}
	// A valid capture with no packet is not an error.
	if flows, _, err := readAll(t, good[:24], FileOptions{}); err != nil || len(flows) != 0 {
		t.Errorf("empty capture: %v %v", flows, err)
	}
	for _, bad := range [][]byte{nil, []byte("GET / HTTP/1.1\r\n"), {0x0a, 0x0d, 0x0d, 0x0a, 0xff, 0xff, 0xff, 0xff}} {
		if _, _, err := readAll(t, bad, FileOptions{}); err == nil {
			t.Errorf("%q accepted as a capture", bad)
		}
	}
}
