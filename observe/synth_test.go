package observe

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/pqtls/pqtls/internal/testpki"
)

// write is one Write call of a TLS peer: the bytes a real stack put on the
// wire, in causal order.
type write struct {
	fromClient bool
	data       []byte
}

type recorder struct {
	mu     sync.Mutex
	writes []write
}

type recConn struct {
	net.Conn
	rec        *recorder
	fromClient bool
}

func (c *recConn) Write(p []byte) (int, error) {
	c.rec.mu.Lock()
	c.rec.writes = append(c.rec.writes, write{c.fromClient, append([]byte(nil), p...)})
	c.rec.mu.Unlock()
	return c.Conn.Write(p)
}

// transcript runs a real crypto/tls handshake between client and server
// configs over an in-memory pipe, then the server sends bulk bytes of
// application data, and returns every write. A handshake failure is
// allowed: the writes up to it are returned.
func transcript(t testing.TB, srvCfg, cliCfg *tls.Config, bulk int) []write {
	t.Helper()
	rec := &recorder{}
	// Loopback TCP, not net.Pipe: both peers write at once after a
	// HelloRetryRequest (change_cipher_spec), which an unbuffered pipe
	// deadlocks on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	cc := tls.Client(&recConn{c, rec, true}, cliCfg)
	sc := tls.Server(&recConn{s, rec, false}, srvCfg)
	deadline := time.Now().Add(10 * time.Second)
	c.SetDeadline(deadline)
	s.SetDeadline(deadline)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sc.Handshake(); err != nil {
			s.Close()
			return
		}
		sc.Write(bytes.Repeat([]byte("x"), bulk))
		sc.Close()
	}()
	if err := cc.Handshake(); err == nil {
		io.Copy(io.Discard, cc)
	}
	c.Close()
	wg.Wait()
	return rec.writes
}

// certs returns a server config with a test certificate for example.test
// and a client config trusting it.
func certs(t testing.TB) (*tls.Config, *tls.Config) {
	t.Helper()
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{DNSNames: []string{"example.test"}})
	srv := ca.ServerTLS(cert, false)
	srv.MinVersion = 0
	cli := ca.ClientTLS("example.test", nil)
	cli.MinVersion = 0
	return srv, cli
}

// seg is one synthetic TCP segment.
type seg struct {
	fromClient bool
	seq        uint32
	flags      uint8
	payload    []byte
	wireLen    int // 0: len(payload)
}

var (
	cliAddr = netip.MustParseAddrPort("10.0.0.1:40000")
	srvAddr = netip.MustParseAddrPort("10.0.0.2:443")
)

const (
	cliISN = 1000
	srvISN = 5000000
)

// segments turns writes into a TCP connection: handshake, data split at
// mss, FIN from both sides.
func segments(writes []write, mss int) []seg {
	out := []seg{{fromClient: true, seq: cliISN, flags: flagSYN}, {seq: srvISN, flags: flagSYN | flagACK}, {fromClient: true, seq: cliISN + 1, flags: flagACK}}
	next := map[bool]uint32{true: cliISN + 1, false: srvISN + 1}
	for _, w := range writes {
		for p := w.data; len(p) > 0; {
			n := min(len(p), mss)
			out = append(out, seg{fromClient: w.fromClient, seq: next[w.fromClient], flags: flagACK | 0x08, payload: p[:n]})
			next[w.fromClient] += uint32(n)
			p = p[n:]
		}
	}
	out = append(out, seg{fromClient: false, seq: next[false], flags: flagFIN | flagACK}, seg{fromClient: true, seq: next[true], flags: flagFIN | flagACK})
	return out
}

// pcapOf serializes segments of the flow cli<->srv as Ethernet/IPv4/TCP
// packets, one millisecond apart, with the given snaplen (0: no cut).
func pcapOf(t testing.TB, w io.Writer, cli, srv netip.AddrPort, segs []seg, snaplen int, start time.Time) {
	t.Helper()
	pw := pcapgo.NewWriter(w)
	if snaplen == 0 {
		snaplen = 65535
	}
	if err := pw.WriteFileHeader(uint32(snaplen), layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	appendPackets(t, pw, cli, srv, segs, snaplen, start)
}

func appendPackets(t testing.TB, pw *pcapgo.Writer, cli, srv netip.AddrPort, segs []seg, snaplen int, start time.Time) {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	for i, s := range segs {
		data := packet(t, buf, cli, srv, s)
		ci := gopacket.CaptureInfo{Timestamp: start.Add(time.Duration(i) * time.Millisecond), Length: len(data), CaptureLength: len(data)}
		if len(data) > snaplen {
			data = data[:snaplen]
			ci.CaptureLength = snaplen
		}
		if err := pw.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
}

func packet(t testing.TB, buf gopacket.SerializeBuffer, cli, srv netip.AddrPort, s seg) []byte {
	src, dst := cli, srv
	if !s.fromClient {
		src, dst = srv, cli
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: s.seq, Window: 65535,
		SYN: s.flags&flagSYN != 0, ACK: s.flags&flagACK != 0, FIN: s.flags&flagFIN != 0, RST: s.flags&flagRST != 0, PSH: s.flags&0x08 != 0}
	var ip gopacket.NetworkLayer
	if src.Addr().Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		tcp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		tcp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
	}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip.(gopacket.SerializableLayer), tcp, gopacket.Payload(s.payload)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// analyze runs the analyzer on a capture and returns the flows and stats.
func analyze(t testing.TB, capture []byte, opts Options) ([]*Flow, Stats) {
	t.Helper()
	var flows []*Flow
	a := NewAnalyzer(opts, func(f *Flow) { c := *f; flows = append(flows, &c) })
	if err := ReadCapture(t.Context(), bytes.NewReader(capture), FileOptions{}, a); err != nil {
		t.Fatal(err)
	}
	a.Flush()
	checkSchema(t, flows)
	return flows, a.Stats()
}

func netipMust(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func netipFrom(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

// newPcap starts an Ethernet pcap in memory (snaplen 65535) for
// appendPackets; the buffer holds the file.
func newPcap() (*pcapgo.Writer, *bytes.Buffer) {
	b := new(bytes.Buffer)
	pw := pcapgo.NewWriter(b)
	pw.WriteFileHeader(65535, layers.LinkTypeEthernet)
	return pw, b
}
