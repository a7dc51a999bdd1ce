package observe

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// TestNetnsSplitClientHello records a hybrid handshake over a 1500-byte MTU
// veth path between two network namespaces, where the ClientHello really
// takes two TCP segments, and checks the count the observer reports.
func TestNetnsSplitClientHello(t *testing.T) {
	topo := testpeer.Netns(t, testpeer.NetnsOptions{MTU: 1500})
	// No segmentation offload on the client side, so that the capture shows
	// the segments as they travel on a real 1500-byte link.
	topo.Client.Run(t, "ip", "link", "set", testpeer.NetnsDev, "gso_max_size", "1500", "gso_max_segs", "1")
	ca := testpki.NewCA(t)
	base := ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false)
	base.MinVersion = 0
	cfg, err := pqtls.ServerConfig(pqtls.Options{Base: base})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := topo.Server.Listen("tcp", net.JoinHostPort(topo.ServerIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(inner, cfg)
	defer ln.Close()
	testpeer.Serve(t, ln, 0, func(c net.Conn) {
		_ = c.(*tls.Conn).Handshake()
		_, _ = c.Write([]byte("ok"))
	})
	port := inner.Addr().(*net.TCPAddr).Port
	capture := testpeer.Capture(t, testpeer.CaptureOptions{Interface: testpeer.NetnsDev, Netns: topo.Server, Filter: "tcp port " + strconv.Itoa(port)})
	raw, err := topo.Client.DialTimeout("tcp", inner.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn := tls.Client(raw, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	flows, _ := analyzeFile(t, capture.Path)
	if len(flows) != 1 {
		t.Fatalf("%d flows", len(flows))
	}
	f := flows[0]
	if f.Outcome != OutcomeHybrid || f.ClientHelloSegments != 2 || f.ClientHelloRecords != 1 || f.ClientHelloBytes < 1460 ||
		f.Client != net.JoinHostPort(topo.ClientIP, strconv.Itoa(raw.LocalAddr().(*net.TCPAddr).Port)) || len(f.Notes) != 0 {
		t.Errorf("flow %+v", f)
	}
}

// TestNetnsLivePromiscuous checks that a live capture puts the interface in
// promiscuous mode while it runs (so that a mirror port shows other hosts'
// traffic, as with tcpdump), that the kernel takes it back when the capture
// ends, and that NoPromisc leaves the interface alone.
func TestNetnsLivePromiscuous(t *testing.T) {
	topo := testpeer.Netns(t, testpeer.NetnsOptions{})
	promiscuity := func() string {
		out := topo.Server.Run(t, "ip", "-d", "link", "show", "dev", testpeer.NetnsDev)
		i := strings.Index(out, "promiscuity ")
		if i < 0 {
			t.Fatalf("no promiscuity in %q", out)
		}
		return strings.Fields(out[i:])[1]
	}
	for _, noPromisc := range []bool{false, true} {
		ctx, cancel := context.WithCancel(t.Context())
		running := make(chan struct{})
		var once sync.Once
		done := make(chan error, 1)
		go func() {
			done <- topo.Server.Do(func() error {
				return Live(ctx, LiveOptions{Interface: testpeer.NetnsDev, NoPromisc: noPromisc,
					OnTick: func() { once.Do(func() { close(running) }) }}, NewAnalyzer(Options{}, nil))
			})
		}()
		select {
		case <-running:
		case err := <-done:
			t.Fatalf("Live ended before its first tick: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("Live never ticked")
		}
		want := "1"
		if noPromisc {
			want = "0"
		}
		if got := promiscuity(); got != want {
			t.Errorf("NoPromisc %v: promiscuity %s while capturing, want %s", noPromisc, got, want)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := promiscuity(); got != "0" {
			t.Errorf("promiscuity %s after the capture, want 0", got)
		}
	}
}

// TestNetnsLiveAny captures on "any" in the server's namespace while a
// client in the other namespace and one on the server's loopback each run a
// hybrid handshake: both flows are seen once each (the loopback's outgoing
// copies are skipped), with nothing noted.
func TestNetnsLiveAny(t *testing.T) {
	topo := testpeer.Netns(t, testpeer.NetnsOptions{})
	ca := testpki.NewCA(t)
	cfg, err := pqtls.ServerConfig(pqtls.Options{Base: ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false)})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := topo.Server.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(inner, cfg)
	defer ln.Close()
	testpeer.Serve(t, ln, 0, func(c net.Conn) {
		_ = c.(*tls.Conn).Handshake()
		_, _ = c.Write([]byte("ok"))
	})
	port := strconv.Itoa(inner.Addr().(*net.TCPAddr).Port)

	var mu sync.Mutex
	var flows []*Flow
	a := NewAnalyzer(Options{}, func(f *Flow) { mu.Lock(); flows = append(flows, f); mu.Unlock() })
	ctx, cancel := context.WithCancel(t.Context())
	running := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- topo.Server.Do(func() error {
			return Live(ctx, LiveOptions{Interface: "any", Filter: "tcp port " + port,
				OnTick: func() { once.Do(func() { close(running) }) }}, a)
		})
	}()
	select {
	case <-running:
	case err := <-done:
		t.Fatalf("Live ended before its first tick: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Live never ticked")
	}
	handshake := func(ns *testpeer.Namespace, addr string) {
		raw, err := ns.DialTimeout("tcp", net.JoinHostPort(addr, port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn := tls.Client(raw, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(conn); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	handshake(topo.Client, topo.ServerIP)
	handshake(topo.Server, "127.0.0.1")
	time.Sleep(300 * time.Millisecond) // let the last packets reach the socket
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	a.Flush()
	if len(flows) != 2 {
		t.Fatalf("%d flows, want 2: %+v", len(flows), flows)
	}
	servers := map[string]bool{}
	for _, f := range flows {
		servers[f.Server] = true
		if f.Outcome != OutcomeHybrid || len(f.Notes) != 0 {
			t.Errorf("flow %s -> %s: outcome %s notes %v", f.Client, f.Server, f.Outcome, f.Notes)
		}
	}
	if !servers[net.JoinHostPort(topo.ServerIP, port)] || !servers[net.JoinHostPort("127.0.0.1", port)] {
		t.Errorf("servers %v", servers)
	}
}
