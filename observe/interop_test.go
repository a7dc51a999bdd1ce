package observe

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// serveTLS runs a pqtls server with policy p that answers "ok" and closes.
func serveTLS(t *testing.T, base *tls.Config, p pqtls.Policy) int {
	t.Helper()
	base = base.Clone()
	base.MinVersion = 0 // the policy decides
	cfg, err := pqtls.ServerConfig(pqtls.Options{Policy: p, Base: base})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// resetAfterHello accepts connections, reads the ClientHello and resets.
func resetAfterHello(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 1<<16)
			n := 0
			for n < 5 || n < 5+int(buf[3])<<8+int(buf[4]) {
				m, err := c.Read(buf[n:])
				if err != nil {
					break
				}
				n += m
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// flowByPort returns the flows whose server port is port.
// flowsByPort returns the flows to this test's server on 127.0.0.1:port.
// Only that address: other tests on the machine (other engineers' too) use
// other loopback addresses with the same port numbers.
func flowsByPort(flows []*Flow, port int) []*Flow {
	var out []*Flow
	for _, f := range flows {
		if f.Server == "127.0.0.1:"+strconv.Itoa(port) {
			out = append(out, f)
		}
	}
	return out
}

func TestInteropCaptures(t *testing.T) {
	testpeer.Require(t, testpeer.PeerTcpdump, testpeer.PeerNode, testpeer.PeerChromium, testpeer.PeerNginx, testpeer.PeerTshark)
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})
	srvCfg := ca.ServerTLS(cert, false)

	prefer := pqtls.Policy{Mode: pqtls.ModePrefer}
	pHybrid := serveTLS(t, srvCfg, prefer)
	pChrome := serveTLS(t, srvCfg, prefer)
	p12 := serveTLS(t, srvCfg, pqtls.Policy{Mode: pqtls.ModePrefer, MinVersion: tls.VersionTLS12})
	pHRR := serveTLS(t, srvCfg, pqtls.Policy{Mode: pqtls.ModeRequire})
	pReset := resetAfterHello(t)
	ngx := testpeer.Nginx(t, testpeer.NginxOptions{Cert: cert, Protocols: "TLSv1.2 TLSv1.3"})
	pNginx := ngx.Port

	var ports []string
	for _, p := range []int{pHybrid, pChrome, p12, pHRR, pReset, pNginx} {
		ports = append(ports, "port "+strconv.Itoa(p))
	}
	// Both ends on 127.0.0.1: the servers here listen there, and traffic of
	// other tests to other loopback addresses on the same port numbers stays
	// out of the capture.
	capture := testpeer.Capture(t, testpeer.CaptureOptions{Filter: "tcp and src host 127.0.0.1 and dst host 127.0.0.1 and (" + strings.Join(ports, " or ") + ")"})
	file := capture.Path

	node := func(port int, opts testpeer.NodeClientOptions) testpeer.NodeResult {
		opts.Insecure = true
		opts.Send = "GET / HTTP/1.0\r\n\r\n"
		return testpeer.NodeClient(t, "127.0.0.1:"+strconv.Itoa(port), opts)
	}
	if r := node(pHybrid, testpeer.NodeClientOptions{ServerName: "hybrid.test", ALPN: []string{"http/1.1"}}); !r.Connected || r.Group != "X25519MLKEM768" {
		t.Errorf("node -> pqtls: %+v", r)
	}
	if _, err := testpeer.ChromiumFetch(t, "https://localhost:"+strconv.Itoa(pChrome)+"/", testpeer.ChromiumOptions{Trust: []*testpki.Cert{cert}}); err != nil {
		t.Errorf("chromium -> pqtls: %v", err)
	}
	if r := node(pNginx, testpeer.NodeClientOptions{ServerName: "nginx.test"}); !r.Connected || r.Protocol != "TLSv1.3" {
		t.Errorf("node -> nginx: %+v", r)
	}
	if r := node(p12, testpeer.NodeClientOptions{ServerName: "tls12.test", MaxVersion: "TLSv1.2"}); !r.Connected || r.Protocol != "TLSv1.2" {
		t.Errorf("node TLS 1.2: %+v", r)
	}
	if r := node(pHRR, testpeer.NodeClientOptions{ServerName: "hrr.test", Curves: "X25519:X25519MLKEM768"}); !r.Connected || !r.HelloRetry {
		t.Errorf("node HRR: %+v", r)
	}
	if r := node(pReset, testpeer.NodeClientOptions{ServerName: "reset.test"}); r.Connected || r.Code != "ECONNRESET" {
		t.Errorf("node reset: %+v", r)
	}
	if _, err := capture.Stop(); err != nil {
		t.Fatal(err)
	}

	flows, st := analyzeFile(t, file)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(file)
			os.WriteFile(filepath.Join(os.TempDir(), "observe-interop-failed.pcap"), b, 0o644)
			t.Logf("capture kept in %s", filepath.Join(os.TempDir(), "observe-interop-failed.pcap"))
		}
	})
	t.Logf("stats %+v", st)
	if st.Malformed != 0 {
		t.Errorf("%d malformed handshakes in real traffic", st.Malformed)
	}
	nodeGroups := []string{"X25519MLKEM768", "x25519", "secp256r1", "x448", "secp384r1", "secp521r1", "ffdhe2048", "ffdhe3072"}
	check := func(name string, port int, want Flow) *Flow {
		t.Helper()
		fs := flowsByPort(flows, port)
		if len(fs) != 1 {
			t.Errorf("%s: %d flows on port %d, want 1", name, len(fs), port)
			return &Flow{}
		}
		f := fs[0]
		got := Flow{SNI: f.SNI, Version: f.Version, OfferedGroups: f.OfferedGroups, KeyShares: f.KeyShares, HRR: f.HRR,
			HRRGroup: f.HRRGroup, RetryKeyShares: f.RetryKeyShares, SelectedGroup: f.SelectedGroup, SelectedKind: f.SelectedKind,
			ServerShareBytes: f.ServerShareBytes, Outcome: f.Outcome, Reason: f.Reason, Server: f.Server, ALPNOffered: f.ALPNOffered}
		want.Server = "127.0.0.1:" + strconv.Itoa(port)
		if want.OfferedGroups == nil {
			got.OfferedGroups = nil // not asserted
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
		wantNotes := 0
		if f.Version == "TLS 1.2" {
			wantNotes = 1 // Go's TLS 1.3-capable server sets the downgrade sentinel
		}
		if f.ClientHelloSegments != 1 || f.ClientHelloRecords != 1 || len(f.Notes) != wantNotes {
			t.Errorf("%s: segments %d records %d notes %v", name, f.ClientHelloSegments, f.ClientHelloRecords, f.Notes)
		}
		return f
	}
	check("node -> pqtls", pHybrid, Flow{SNI: "hybrid.test", Version: "TLS 1.3", OfferedGroups: nodeGroups, ALPNOffered: []string{"http/1.1"},
		KeyShares: []KeyShare{{"X25519MLKEM768", 1216}, {"x25519", 32}}, SelectedGroup: "X25519MLKEM768", SelectedKind: "hybrid",
		ServerShareBytes: 1120, Outcome: OutcomeHybrid})
	check("node -> nginx", pNginx, Flow{SNI: "nginx.test", Version: "TLS 1.3", OfferedGroups: nodeGroups,
		KeyShares: []KeyShare{{"X25519MLKEM768", 1216}, {"x25519", 32}}, SelectedGroup: "x25519", SelectedKind: "classical",
		ServerShareBytes: 32, Outcome: OutcomeClassical})
	// OpenSSL drops the TLS 1.3-only groups from a TLS 1.2-only hello.
	check("node TLS 1.2", p12, Flow{SNI: "tls12.test", Version: "TLS 1.2", OfferedGroups: []string{"x25519", "secp256r1", "x448", "secp384r1", "secp521r1"}, KeyShares: []KeyShare{},
		SelectedGroup: "x25519", SelectedKind: "classical", ServerShareBytes: 32, Outcome: OutcomeTLS12})
	check("node HRR", pHRR, Flow{SNI: "hrr.test", Version: "TLS 1.3", OfferedGroups: []string{"x25519", "X25519MLKEM768"},
		KeyShares: []KeyShare{{"x25519", 32}}, HRR: true, HRRGroup: "X25519MLKEM768", RetryKeyShares: []KeyShare{{"X25519MLKEM768", 1216}},
		SelectedGroup: "X25519MLKEM768", SelectedKind: "hybrid", ServerShareBytes: 1120, Outcome: OutcomeHybrid})
	check("node reset", pReset, Flow{SNI: "reset.test", OfferedGroups: nodeGroups,
		KeyShares: []KeyShare{{"X25519MLKEM768", 1216}, {"x25519", 32}}, Outcome: OutcomeFailed, Reason: "reset"})

	// Chromium: GREASE values are reported as numbers; it may open extra
	// connections (preconnect), all of which must be hybrid.
	chrome := flowsByPort(flows, pChrome)
	if len(chrome) == 0 {
		t.Fatal("no Chromium flow")
	}
	for _, f := range chrome {
		var shares []KeyShare
		for _, ks := range f.KeyShares {
			if !isGREASEName(ks.Group) {
				shares = append(shares, ks)
			}
		}
		if f.Outcome != OutcomeHybrid || f.SelectedGroup != "X25519MLKEM768" || f.SNI != "localhost" ||
			!reflect.DeepEqual(shares, []KeyShare{{"X25519MLKEM768", 1216}, {"x25519", 32}}) || !isGREASEName(f.OfferedGroups[0]) ||
			!slices.Equal(f.ALPNOffered, []string{"h2", "http/1.1"}) {
			t.Errorf("chromium flow %+v", f)
		}
	}

	crossCheckTshark(t, file, flows)
	writeSeed(t, file)
}

func isGREASEName(s string) bool {
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 16)
	return err == nil && strings.HasPrefix(s, "0x") && v&0x0f0f == 0x0a0a
}

func analyzeFile(t *testing.T, file string) ([]*Flow, Stats) {
	t.Helper()
	var flows []*Flow
	a := NewAnalyzer(Options{}, func(f *Flow) { c := *f; flows = append(flows, &c) })
	if err := ReadFile(t.Context(), file, FileOptions{}, a); err != nil {
		t.Fatal(err)
	}
	a.Flush()
	return flows, a.Stats()
}

// crossCheckTshark compares the groups of every ClientHello and ServerHello
// with what tshark extracts from the same file.
func crossCheckTshark(t *testing.T, file string, flows []*Flow) {
	t.Helper()
	bin, err := testpeer.Find(testpeer.PeerTshark)
	if err != nil {
		testpeer.Missing(t, testpeer.PeerTshark, err)
	}
	args := []string{"-r", file, "-o", "tls.desegment_ssl_records:TRUE", "-o", "tcp.desegment_tcp_streams:TRUE"}
	ports := map[string]bool{}
	for _, f := range flows {
		_, p, _ := net.SplitHostPort(f.Server)
		if !ports[p] {
			ports[p] = true
			args = append(args, "-d", "tcp.port=="+p+",tls")
		}
	}
	args = append(args, "-Y", "tls.handshake.type == 1 || tls.handshake.type == 2", "-T", "fields", "-E", "separator=|",
		"-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tls.handshake.type", "-e", "tls.handshake.extensions_key_share_group",
		"-e", "tls.handshake.extensions_key_share_selected_group", "-e", "tls.handshake.extensions_key_share_key_exchange_length",
		"-e", "tls.handshake.extensions_supported_group")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).Output() // -d decode-as for the random ports: testpeer.TsharkFields has no such option
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	// One row per hello: ports|type|key share groups|HRR selected group|
	// key share sizes|supported groups, every number in decimal.
	ours := map[string]bool{}
	row := func(src, dst, typ string, shares []KeyShare, hrr string, offered []string) {
		var sizes []string
		for _, k := range shares {
			sizes = append(sizes, strconv.Itoa(k.Size))
		}
		ours[strings.Join([]string{src, dst, typ, idsOf(t, sharesGroups(shares)), idsOf(t, []string{hrr}), strings.Join(sizes, ","), idsOf(t, offered)}, "|")] = true
	}
	for _, f := range flows {
		if f.Outcome == OutcomeIncomplete {
			continue
		}
		_, cp, _ := net.SplitHostPort(f.Client)
		_, sp, _ := net.SplitHostPort(f.Server)
		row(cp, sp, "1", f.KeyShares, "", f.OfferedGroups)
		if f.HRR {
			row(cp, sp, "1", f.RetryKeyShares, "", f.OfferedGroups)
			row(sp, cp, "2", nil, f.HRRGroup, nil)
		}
		switch f.Version {
		case "TLS 1.3":
			row(sp, cp, "2", []KeyShare{{f.SelectedGroup, f.ServerShareBytes}}, "", nil)
		case "":
		default:
			row(sp, cp, "2", nil, "", nil)
		}
	}
	theirs := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "|")
		if len(parts) != 7 {
			continue
		}
		// A record carrying several handshake messages lists each type.
		parts[2] = strings.Split(parts[2], ",")[0]
		var sg []string
		for _, g := range strings.Split(parts[6], ",") {
			if v, err := strconv.ParseUint(strings.TrimPrefix(g, "0x"), 16, 16); err == nil {
				sg = append(sg, strconv.FormatUint(v, 10))
			}
		}
		parts[6] = strings.Join(sg, ",")
		theirs[strings.Join(parts, "|")] = true
	}
	if len(theirs) < 10 || !reflect.DeepEqual(ours, theirs) {
		t.Errorf("tshark disagrees:\n ours   %v\n tshark %v", keys(ours), keys(theirs))
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sharesGroups(ks []KeyShare) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.Group)
	}
	return out
}

func idsOf(t *testing.T, names []string) string {
	var ids []string
	for _, n := range names {
		if n == "" {
			continue
		}
		g, err := pqtls.ParseGroup(n)
		var id uint64
		if err == nil {
			id = uint64(g.ID)
		} else if id, err = strconv.ParseUint(strings.TrimPrefix(n, "0x"), 16, 16); err != nil {
			t.Fatalf("group %q: %v", n, err)
		}
		ids = append(ids, strconv.FormatUint(id, 10))
	}
	return strings.Join(ids, ",")
}

// writeSeed refreshes testdata/interop.pcap (the fuzz seeds and the
// regression capture of TestRecordedCapture) when PQTLS_UPDATE_SEEDS=1.
func writeSeed(t *testing.T, file string) {
	if os.Getenv("PQTLS_UPDATE_SEEDS") != "1" {
		return
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "interop.pcap"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInteropPostgresCapture records psql -> PostgreSQL 15 with
// sslmode=require: the TLS handshake follows an SSLRequest and must be read
// (Debian's OpenSSL 3.0 on both sides: classical, and an HRR because of
// PostgreSQL's default ssl_ecdh_curve).
func TestInteropPostgresCapture(t *testing.T) {
	testpeer.Require(t, testpeer.PeerTcpdump, testpeer.PeerPostgres, testpeer.PeerPsql)
	pg := testpeer.Postgres(t, testpeer.PostgresOptions{SSL: true})
	capture := testpeer.Capture(t, testpeer.CaptureOptions{Filter: "tcp port " + strconv.Itoa(pg.Port)})
	if out := pg.Psql(t, "require", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"); out != "t" {
		t.Errorf("psql over TLS: %q", out)
	}
	if _, err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	flows, st := analyzeFile(t, capture.Path)
	if len(flows) != 1 {
		t.Fatalf("%d flows (stats %+v)", len(flows), st)
	}
	f := flows[0]
	// PostgreSQL's default ssl_ecdh_curve is prime256v1 while libpq sends an
	// x25519 share: every connection pays a HelloRetryRequest.
	if f.Outcome != OutcomeClassical || f.Version != "TLS 1.3" || f.SelectedGroup != "secp256r1" || !f.HRR || f.HRRGroup != "secp256r1" ||
		!reflect.DeepEqual(f.KeyShares, []KeyShare{{"x25519", 32}}) || !reflect.DeepEqual(f.RetryKeyShares, []KeyShare{{"secp256r1", 65}}) ||
		!reflect.DeepEqual(f.Notes, []string{NotePostgresSSLRequest}) || f.Server != pg.Addr {
		t.Errorf("postgres flow %+v", f)
	}
}

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
