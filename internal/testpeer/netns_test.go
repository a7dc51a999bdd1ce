package testpeer

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

// TestNetnsLargeClientHello builds client/router/server namespaces, then
// drops large packets on the router: a hybrid ClientHello (about 1.3 KB in
// one segment) no longer gets through while a classical one does. This is
// the situation pqtls canary detects.
func TestNetnsLargeClientHello(t *testing.T) {
	topo := Netns(t, NetnsOptions{Router: true})
	ca := testpki.NewCA(t)
	ln, err := topo.Server.Listen("tcp", topo.ServerIP+":8443")
	if err != nil {
		t.Fatal(err)
	}
	serveTLS(t, ln, ca.ServerTLS(ca.Server(t, testpki.CertOptions{IPs: []net.IP{net.ParseIP(topo.ServerIP)}}), false), "ok\n")
	// The addresses exist only inside the namespaces (never dial them from
	// the root namespace: its traffic may leave the machine).
	if out, _ := runQuick(10*time.Second, "ip", "-o", "addr"); strings.Contains(out, "10.201.") {
		t.Fatalf("topology address in the root namespace: %s", out)
	}
	if out := topo.Server.Run(t, "ip", "-o", "addr"); !strings.Contains(out, topo.ServerIP+"/24") {
		t.Fatalf("server namespace addresses: %s", out)
	}
	handshake := func(curves ...tls.CurveID) (tls.CurveID, error) {
		c, err := topo.Client.DialTimeout("tcp", topo.ServerIP+":8443", 5*time.Second)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		cfg := ca.ClientTLS(topo.ServerIP, nil)
		cfg.CurvePreferences = curves
		tc := tls.Client(c, cfg)
		_ = tc.SetDeadline(time.Now().Add(3 * time.Second))
		if err := tc.Handshake(); err != nil {
			return 0, err
		}
		return tc.ConnectionState().CurveID, nil
	}
	if g, err := handshake(tls.X25519MLKEM768); err != nil || g != tls.X25519MLKEM768 {
		t.Fatalf("through router: %v %v", g, err)
	}
	topo.Router.Iptables(t, "-A", "FORWARD", "-p", "tcp", "-m", "length", "--length", "1000:65535", "-j", "DROP")
	if _, err := handshake(tls.X25519MLKEM768); err == nil {
		t.Error("hybrid handshake passed a router dropping packets >= 1000 bytes")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("want a timeout, got %v", err)
	}
	if g, err := handshake(tls.X25519); err != nil || g != tls.X25519 {
		t.Errorf("classical handshake through the filter: %v %v", g, err)
	}
	counters := topo.Router.Run(t, "iptables", "-L", "FORWARD", "-v", "-n", "-x")
	if !strings.Contains(counters, "DROP") {
		t.Errorf("iptables counters: %s", counters)
	}
}

func TestNetnsPairMTUAndCapture(t *testing.T) {
	topo := Netns(t, NetnsOptions{MTU: 1280})
	out := topo.Client.Run(t, "ip", "link", "show", NetnsDev)
	if !strings.Contains(out, "mtu 1280") {
		t.Errorf("MTU not set: %s", out)
	}
	capt := Capture(t, CaptureOptions{Netns: topo.Server, Interface: NetnsDev, Filter: "tcp port 9000"})
	ln, err := topo.Server.Listen("tcp", topo.ServerIP+":9000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = c.Write([]byte("hi"))
			c.Close()
		}
	}()
	c, err := topo.Client.DialTimeout("tcp", topo.ServerIP+":9000", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(buf); err != nil || string(buf) != "hi" {
		t.Errorf("read %q %v", buf, err)
	}
	c.Close()
	n, err := capt.Stop()
	if err != nil || n < 6 { // SYN, SYN-ACK, ACK, data, FINs
		t.Errorf("captured %d packets: %v", n, err)
	}
	if err := topo.Server.Netem(NetnsDev, "delay", "5ms"); err != nil && !errors.Is(err, ErrNoNetem) {
		t.Errorf("netem: %v", err)
	}
}

// TestInteropCaptureLoopback captures a Go hybrid handshake on lo and has
// tshark, an independent dissector, read the groups back from the pcap.
func TestInteropCaptureLoopback(t *testing.T) {
	Require(t, PeerTcpdump, PeerTshark)
	ca := testpki.NewCA(t)
	addr, states := goServer(t, ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false))
	_, port, _ := splitHostPort(addr)
	capt := Capture(t, CaptureOptions{Filter: "tcp port " + strconv.Itoa(port)})
	if _, body, err := goDial(t, addr, ca.ClientTLS("localhost", nil)); err != nil || body != "hello from go\n" {
		t.Fatalf("%q %v", body, err)
	}
	if st := <-states; st.CurveID != tls.X25519MLKEM768 {
		t.Fatalf("negotiated %v", st.CurveID)
	}
	n, err := capt.Stop()
	if err != nil || n < 6 {
		t.Fatalf("captured %d packets: %v", n, err)
	}
	data, err := os.ReadFile(capt.Path)
	if err != nil || len(data) < 24 {
		t.Fatalf("pcap: %d bytes %v", len(data), err)
	}
	// pcap magic, either byte order, microsecond or nanosecond.
	magic := string(data[:4])
	if magic != "\xd4\xc3\xb2\xa1" && magic != "\xa1\xb2\xc3\xd4" && magic != "\x4d\x3c\xb2\xa1" && magic != "\xa1\xb2\x3c\x4d" {
		t.Errorf("not a pcap: % x", data[:4])
	}
	sh := TsharkFields(t, capt.Path, "tls.handshake.type == 2", "tls.handshake.extensions_key_share_group")
	if len(sh) != 1 || sh[0][0] != "4588" {
		t.Errorf("tshark ServerHello key_share: %v", sh)
	}
	ch := TsharkFields(t, capt.Path, "tls.handshake.type == 1", "tls.handshake.extensions_supported_group")
	if len(ch) != 1 || !strings.HasPrefix(ch[0][0], "0x11ec,") {
		t.Errorf("tshark ClientHello supported_groups: %v", ch)
	}
}
