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
	ca, port := netnsTLSServer(t, topo.Server, topo.ServerIP, func(c *tls.Config) { c.MinVersion = 0 })
	capture := testpeer.Capture(t, testpeer.CaptureOptions{Interface: testpeer.NetnsDev, Netns: topo.Server, Filter: "tcp port " + port})
	local := netnsHandshake(t, ca, topo.Client, net.JoinHostPort(topo.ServerIP, port))
	if _, err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	flows, _ := analyzeFile(t, capture.Path)
	if len(flows) != 1 {
		t.Fatalf("%d flows", len(flows))
	}
	f := flows[0]
	if f.Outcome != OutcomeHybrid || f.ClientHelloSegments != 2 || f.ClientHelloRecords != 1 || f.ClientHelloBytes < 1460 ||
		f.Client != net.JoinHostPort(topo.ClientIP, strconv.Itoa(local.Port)) || len(f.Notes) != 0 {
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
		stop := startLive(t, topo.Server, LiveOptions{Interface: testpeer.NetnsDev, NoPromisc: noPromisc}, NewAnalyzer(Options{}, nil))
		want := "1"
		if noPromisc {
			want = "0"
		}
		if got := promiscuity(); got != want {
			t.Errorf("NoPromisc %v: promiscuity %s while capturing, want %s", noPromisc, got, want)
		}
		if err := stop(); err != nil {
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
	ca, port := netnsTLSServer(t, topo.Server, "", nil)
	var mu sync.Mutex
	var flows []*Flow
	a := NewAnalyzer(Options{}, func(f *Flow) { mu.Lock(); flows = append(flows, f); mu.Unlock() })
	stop := startLive(t, topo.Server, LiveOptions{Interface: "any", Filter: "tcp port " + port}, a)
	netnsHandshake(t, ca, topo.Client, net.JoinHostPort(topo.ServerIP, port))
	netnsHandshake(t, ca, topo.Server, net.JoinHostPort("127.0.0.1", port))
	time.Sleep(300 * time.Millisecond) // let the last packets reach the socket
	if err := stop(); err != nil {
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

// netnsTLSServer serves hybrid TLS on host:0 in ns (tweak, when not nil,
// edits the server's base config first); each connection completes its
// handshake and gets "ok". It returns the CA and the listening port.
func netnsTLSServer(t *testing.T, ns *testpeer.Namespace, host string, tweak func(*tls.Config)) (*testpki.CA, string) {
	t.Helper()
	ca := testpki.NewCA(t)
	base := ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false)
	if tweak != nil {
		tweak(base)
	}
	cfg, err := pqtls.ServerConfig(pqtls.Options{Base: base})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := ns.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(inner, cfg)
	t.Cleanup(func() { ln.Close() })
	testpeer.Serve(t, ln, 0, func(c net.Conn) {
		_ = c.(*tls.Conn).Handshake()
		_, _ = c.Write([]byte("ok"))
	})
	return ca, strconv.Itoa(inner.Addr().(*net.TCPAddr).Port)
}

// netnsHandshake dials addr from ns, runs a TLS handshake trusting ca, reads
// the answer to its end and returns the client's local address.
func netnsHandshake(t *testing.T, ca *testpki.CA, ns *testpeer.Namespace, addr string) *net.TCPAddr {
	t.Helper()
	raw, err := ns.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn := tls.Client(raw, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatal(err)
	}
	return raw.LocalAddr().(*net.TCPAddr)
}

// startLive runs Live in ns with opts and a until the returned stop is
// called (stop returns Live's error); it returns once Live has ticked, so
// the capture is open.
func startLive(t *testing.T, ns *testpeer.Namespace, opts LiveOptions, a *Analyzer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	running := make(chan struct{})
	var once sync.Once
	opts.OnTick = func() { once.Do(func() { close(running) }) }
	done := make(chan error, 1)
	go func() {
		done <- ns.Do(func() error { return Live(ctx, opts, a) })
	}()
	select {
	case <-running:
	case err := <-done:
		cancel()
		t.Fatalf("Live ended before its first tick: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("Live never ticked")
	}
	return func() error { cancel(); return <-done }
}
