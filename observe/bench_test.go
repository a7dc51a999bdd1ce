package observe

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// genCapture writes a capture of n TLS 1.3 flows to w, each a real hybrid
// handshake (Go crypto/tls) followed by bulk bytes of application data from
// the server, with flows interleaved in groups of 50 as on a busy link.
// It returns the number of packets.
func genCapture(tb testing.TB, w io.Writer, n, bulk int) int {
	tb.Helper()
	srv, cli := certs(tb)
	writes := transcript(tb, srv, cli, bulk)
	segs := segments(writes, 1448)
	pw := pcapgo.NewWriter(w)
	pw.WriteFileHeader(262144, layers.LinkTypeEthernet)
	buf := gopacket.NewSerializeBuffer()
	pkts := 0
	const group = 50
	for g := 0; g < n; g += group {
		m := min(group, n-g)
		// Pre-serialize one packet list per flow, then interleave.
		flows := make([][][]byte, m)
		for i := range m {
			c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte((g + i) >> 8), byte(g + i)}), uint16(30000+(g+i)%30000))
			for _, s := range segs {
				flows[i] = append(flows[i], packet(tb, buf, c, srvAddr, s))
			}
		}
		ts := t0.Add(time.Duration(g) * 10 * time.Millisecond)
		for j := range segs {
			for i := range m {
				p := flows[i][j]
				ts = ts.Add(time.Microsecond)
				if err := pw.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(p), Length: len(p)}, p); err != nil {
					tb.Fatal(err)
				}
				pkts++
			}
		}
	}
	return pkts
}

// TestWriteBenchCapture writes the capture of scripts/bench/observe.sh to
// $PQTLS_BENCH_CAPTURE ($PQTLS_BENCH_FLOWS flows of $PQTLS_BENCH_BULK bytes).
func TestWriteBenchCapture(t *testing.T) {
	path := os.Getenv("PQTLS_BENCH_CAPTURE")
	if path == "" {
		t.Skip("set PQTLS_BENCH_CAPTURE to write the benchmark capture (scripts/bench/observe.sh does)")
	}
	n, _ := strconv.Atoi(os.Getenv("PQTLS_BENCH_FLOWS"))
	bulk, _ := strconv.Atoi(os.Getenv("PQTLS_BENCH_BULK"))
	if n <= 0 || bulk < 0 {
		t.Fatal("set PQTLS_BENCH_FLOWS > 0 and PQTLS_BENCH_BULK >= 0")
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	pkts := genCapture(t, bw, n, bulk)
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d flows, %d packets to %s", n, pkts, path)
}

// BenchmarkObserve measures the analyzer on an in-memory capture and, as the
// reference in the same run, gopacket's full layer decoding of the same
// packets (what a straightforward gopacket-based tool pays before any
// reassembly). Compare the pkts/s of the two sub-benchmarks.
func BenchmarkObserve(b *testing.B) {
	var capture bytes.Buffer
	pkts := genCapture(b, &capture, 200, 128<<10)
	data := capture.Bytes()
	b.Run("pqtls", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for range b.N {
			flows := 0
			a := NewAnalyzer(Options{}, func(*Flow) { flows++ })
			if err := ReadCapture(b.Context(), bytes.NewReader(data), FileOptions{}, a); err != nil {
				b.Fatal(err)
			}
			a.Flush()
			if flows != 200 {
				b.Fatalf("%d flows", flows)
			}
		}
		b.ReportMetric(float64(pkts)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	})
	b.Run("gopacket-decode-reference", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for range b.N {
			r, err := pcapgo.NewReader(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for {
				p, _, err := r.ReadPacketData()
				if err != nil {
					break
				}
				pkt := gopacket.NewPacket(p, layers.LinkTypeEthernet, gopacket.Default)
				if pkt.Layer(layers.LayerTypeTCP) != nil {
					n++
				}
			}
			if n != pkts {
				b.Fatalf("%d TCP packets", n)
			}
		}
		b.ReportMetric(float64(pkts)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	})
}

// TestMemoryBoundedLongCapture checks that the heap does not grow with the
// capture: 20x more flows must not need much more memory.
func TestMemoryBoundedLongCapture(t *testing.T) {
	heap := func(n int) uint64 {
		var capture bytes.Buffer
		genCapture(t, &capture, n, 16<<10)
		data := capture.Bytes()
		var peak uint64
		flows := 0
		a := NewAnalyzer(Options{IdleTimeout: time.Second}, func(*Flow) {
			flows++
			if flows%100 == 0 {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		})
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		if err := ReadCapture(t.Context(), bytes.NewReader(data), FileOptions{}, a); err != nil {
			t.Fatal(err)
		}
		a.Flush()
		if flows != n {
			t.Fatalf("%d flows of %d", flows, n)
		}
		runtime.KeepAlive(data)
		return peak - min(peak, base.HeapAlloc)
	}
	small, large := heap(200), heap(4000)
	t.Logf("heap growth during analysis: %d KiB for 200 flows, %d KiB for 4000 flows", small>>10, large>>10)
	if large > 4*small+(4<<20) {
		t.Errorf("memory grows with the capture: %d KiB for 200 flows, %d KiB for 4000", small>>10, large>>10)
	}
}

// BenchmarkObserveHandshakes is the worst case: flows with no bulk data, so
// every packet is part of a handshake.
func BenchmarkObserveHandshakes(b *testing.B) {
	var capture bytes.Buffer
	pkts := genCapture(b, &capture, 2000, 0)
	data := capture.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for range b.N {
		a := NewAnalyzer(Options{}, nil)
		if err := ReadCapture(b.Context(), bytes.NewReader(data), FileOptions{}, a); err != nil {
			b.Fatal(err)
		}
		a.Flush()
	}
	b.ReportMetric(float64(pkts)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}
