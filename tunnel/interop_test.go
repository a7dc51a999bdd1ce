package tunnel

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// TestInteropPostgresPgbenchThroughPair: pgbench (libpq, plaintext) ->
// tunnel client -> hybrid TLS -> tunnel server -> PostgreSQL 15. Thousands
// of transactions with 0 failures, and both tunnels count X25519MLKEM768.
func TestInteropPostgresPgbenchThroughPair(t *testing.T) {
	skipShort(t)
	testpeer.Require(t, testpeer.PeerPostgres, testpeer.PeerPgbench)
	pg := testpeer.Postgres(t, testpeer.PostgresOptions{})
	srv, cl, sreg, creg := mtlsPair(t, pg.Addr, "spiffe://example.org/ns/billing/sa/*", "spiffe://example.org/ns/billing/sa/pgbench")
	caddr := cl.Listeners()[0].Addr().(*net.TCPAddr)

	// Long-lived connections: 4 clients x 750 transactions.
	res := testpeer.Pgbench(t, testpeer.PgbenchOptions{Host: "127.0.0.1", Port: caddr.Port, Clients: 4, Transactions: 750})
	if res.Failed != 0 || res.Transactions != 3000 {
		t.Fatalf("pgbench through the pair: %d transactions, %d failed\n%s", res.Transactions, res.Failed, res.Output)
	}
	// One connection (one handshake) per transaction.
	res = testpeer.Pgbench(t, testpeer.PgbenchOptions{Host: "127.0.0.1", Port: caddr.Port, Clients: 2, Transactions: 100, Connect: true, SelectOnly: true})
	if res.Failed != 0 || res.Transactions != 200 {
		t.Fatalf("pgbench -C through the pair: %d transactions, %d failed\n%s", res.Transactions, res.Failed, res.Output)
	}
	t.Logf("pgbench -C through the pair: %.0f tps", res.TPS)
	waitFor(t, "connections to end", func() bool { return srv.ActiveConnections() == 0 && cl.ActiveConnections() == 0 })
	s := metricValue(t, sreg, pqtls.MetricGroupTotal, map[string]string{"role": "server", "group": "x25519_mlkem768"})
	c := metricValue(t, creg, pqtls.MetricGroupTotal, map[string]string{"role": "client", "group": "x25519_mlkem768"})
	if s < 200 || c < 200 || s != c {
		t.Fatalf("x25519_mlkem768 handshakes: server %v, client %v; want equal and >= 200", s, c)
	}
	if e := metricValue(t, sreg, pqtls.MetricErrorsTotal, nil) + metricValue(t, creg, pqtls.MetricErrorsTotal, nil); e != 0 {
		t.Fatalf("%v handshake errors", e)
	}
	if b := metricValue(t, creg, MetricBytesTotal, map[string]string{"direction": DirectionFromTarget}); b == 0 {
		t.Fatal("client tunnel counted no bytes from the server")
	}
}

// TestInteropChromiumThroughTunnel: headless Chromium loads a page from a
// plaintext HTTP backend behind the tunnel server, with X25519MLKEM768.
func TestInteropChromiumThroughTunnel(t *testing.T) {
	skipShort(t)
	testpeer.Require(t, testpeer.PeerChromium)
	cert, files := serverFiles(t)
	tu, reg := startTunnel(t, Config{Listeners: []ListenerConfig{{Name: "web", Mode: ModeServer, Listen: "127.0.0.1:0",
		Target: httpBackend(t, "<html><body><p id=msg>served through pqtls tunnel</p></body></html>"), Cert: files.Cert, Key: files.Key}}})
	dom, err := testpeer.ChromiumFetch(t, "https://"+tu.Listeners()[0].Addr().String()+"/", testpeer.ChromiumOptions{Trust: []*testpki.Cert{cert}})
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if !strings.Contains(dom, "served through pqtls tunnel") {
		t.Fatalf("page not served through the tunnel; DOM:\n%s", dom)
	}
	if v := metricValue(t, reg, pqtls.MetricGroupTotal, map[string]string{"role": "server", "group": "x25519_mlkem768", "kind": "hybrid"}); v < 1 {
		t.Fatalf("tunnel counted %v X25519MLKEM768 handshakes from Chromium", v)
	}
}

// TestInteropNodeRequirePolicy: Node.js 26 (OpenSSL 3.5) offering only
// X25519 is refused by a require-mode tunnel with handshake_failure; one
// offering SecP256r1MLKEM768 gets it and reaches the backend.
func TestInteropNodeRequirePolicy(t *testing.T) {
	skipShort(t)
	testpeer.Require(t, testpeer.PeerNode)
	cert, files := serverFiles(t)
	tu, reg := startTunnel(t, Config{Listeners: []ListenerConfig{{Name: "strict", Mode: ModeServer, Listen: "127.0.0.1:0", Target: echoServer(t),
		Cert: files.Cert, Key: files.Key, Policy: "require"}}})
	addr := tu.Listeners()[0].Addr().String()

	res := testpeer.NodeClient(t, addr, testpeer.NodeClientOptions{Curves: "X25519", CA: cert.CA, Send: "classical"})
	if res.Connected || res.AlertDescription != "handshake_failure" {
		t.Fatalf("X25519-only Node client: connected=%v alert=%q error=%q; want refused with handshake_failure", res.Connected, res.AlertDescription, res.Error)
	}
	res = testpeer.NodeClient(t, addr, testpeer.NodeClientOptions{Curves: "SecP256r1MLKEM768", CA: cert.CA, Send: "hybrid hello"})
	if !res.Connected || res.Group != "SecP256r1MLKEM768" || res.GroupID != tls.SecP256r1MLKEM768 {
		t.Fatalf("SecP256r1MLKEM768 Node client: connected=%v group=%q id=%v error=%q", res.Connected, res.Group, res.GroupID, res.Error)
	}
	if res.Response != "hybrid hello" {
		t.Fatalf("echo through the tunnel: %q", res.Response)
	}
	if v := metricValue(t, reg, pqtls.MetricErrorsTotal, map[string]string{"reason": pqtls.ReasonPolicyClassicalPeer}); v != 1 {
		t.Fatalf("policy_classical_peer errors = %v, want 1", v)
	}
	if v := metricValue(t, reg, pqtls.MetricGroupTotal, map[string]string{"group": "secp256r1_mlkem768"}); v != 1 {
		t.Fatalf("secp256r1_mlkem768 handshakes = %v, want 1", v)
	}
}

// TestInteropHAProxyAcceptsProxyV2: HAProxy (bind accept-proxy) parses the
// tunnel's PROXY v2 header and sees the real client address and the SNI
// (PP2_TYPE_AUTHORITY).
func TestInteropHAProxyAcceptsProxyV2(t *testing.T) {
	skipShort(t)
	h := testpeer.HAProxy(t, testpeer.HAProxyOptions{NoTLS: true, AcceptProxy: true, Body: "hello through the PROXY header\n",
		LogFormat: "pp|%[src]:%[src_port]|%[fc_pp_authority]"})
	cert, files := serverFiles(t, "api.internal")
	tu, _ := startTunnel(t, Config{Listeners: []ListenerConfig{{Mode: ModeServer, Listen: "127.0.0.1:0", Target: h.Addr,
		Cert: files.Cert, Key: files.Key, ProxyProtocol: true}}})
	c, err := dialTLS(tu.Listeners()[0].Addr().String(), cert.CA.ClientTLS("api.internal", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: api.internal\r\nConnection: close\r\n\r\n")
	if resp, _ := io.ReadAll(c); !strings.HasSuffix(string(resp), "hello through the PROXY header\n") {
		t.Fatalf("no answer from haproxy (did it reject the PROXY header?): %q\n%s", resp, h.Log())
	}
	want := "pp|" + c.LocalAddr().String() + "|api.internal"
	waitFor(t, "HAProxy's log line", func() bool { return strings.Contains(h.Log(), "pp|") })
	if !strings.Contains(h.Log(), want) {
		t.Fatalf("haproxy logged %q, want a line %q", h.Log(), want)
	}
}

// TestInteropClientModeToNode: the client tunnel originates hybrid TLS with
// a client certificate to Node.js 26 (OpenSSL 3.5), which sees
// X25519MLKEM768 and the client's certificate; a require-mode client tunnel
// refuses a Node server that offers only X25519.
func TestInteropClientModeToNode(t *testing.T) {
	skipShort(t)
	testpeer.Require(t, testpeer.PeerNode)
	clientCA := testpki.NewCA(t)
	cli := clientCA.Client(t, testpki.CertOptions{CommonName: "billing-api"}).WriteFiles(t, t.TempDir())
	srv := testpeer.NodeServer(t, testpeer.NodeServerOptions{Echo: true, ClientCA: clientCA, RequestCert: true, RejectUnauthorized: true})
	caFile := srv.CA.WriteCertFile(t, t.TempDir())
	cl, reg := startTunnel(t, Config{Listeners: []ListenerConfig{{Mode: ModeClient, Listen: "127.0.0.1:0", Target: srv.Addr,
		ServerName: "localhost", CA: caFile, Cert: cli.Cert, Key: cli.Key, Policy: "require"}}})
	c, err := dialPlain(cl.Listeners()[0].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if s, err := roundTrip(c, "through the client tunnel"); err != nil || s != "through the client tunnel" {
		t.Fatalf("echo via Node: %q %v", s, err)
	}
	c.Close()
	ev := srv.Next(t)
	if ev.Event != "handshake" || ev.GroupID != tls.X25519MLKEM768 || ev.PeerCN != "billing-api" {
		t.Fatalf("Node saw %+v, want a handshake on X25519MLKEM768 from billing-api", ev)
	}
	if v := metricValue(t, reg, pqtls.MetricGroupTotal, map[string]string{"role": "client", "group": "x25519_mlkem768"}); v != 1 {
		t.Fatalf("client tunnel counted %v hybrid handshakes", v)
	}

	classical := testpeer.NodeServer(t, testpeer.NodeServerOptions{Echo: true, Curves: "X25519"})
	caFile2 := classical.CA.WriteCertFile(t, t.TempDir())
	cl2, reg2 := startTunnel(t, Config{Listeners: []ListenerConfig{{Mode: ModeClient, Listen: "127.0.0.1:0", Target: classical.Addr,
		ServerName: "localhost", CA: caFile2, Policy: "require"}}})
	c, err = dialPlain(cl2.Listeners()[0].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	echoFails(t, c, "require-mode client tunnel talked to an X25519-only server")
	waitMetric(t, reg2, MetricBackendErrors, map[string]string{"stage": "handshake"}, 1)
	if v := metricValue(t, reg2, pqtls.MetricErrorsTotal, map[string]string{"role": "client", "reason": pqtls.ReasonPolicyClassicalPeer}); v != 1 {
		t.Errorf("client tunnel counted %v policy_classical_peer refusals, want 1", v)
	}
}

// TestInteropNginxClassicalClient: nginx (OpenSSL 3.0, no ML-KEM) as a TLS
// client of the server tunnel. In prefer mode it gets through on X25519 and
// the tunnel counts a classical handshake (what phase 4 dashboards look
// for); in require mode it is refused and counted as policy_classical_peer.
func TestInteropNginxClassicalClient(t *testing.T) {
	skipShort(t)
	testpeer.Require(t, testpeer.PeerNginx)
	cert, files := serverFiles(t)
	for _, policy := range []string{"prefer", "require"} {
		t.Run(policy, func(t *testing.T) {
			tu, reg := startTunnel(t, Config{Listeners: []ListenerConfig{{Mode: ModeServer, Listen: "127.0.0.1:0", Target: echoServer(t),
				Cert: files.Cert, Key: files.Key, Policy: policy}}})
			ng := testpeer.Nginx(t, testpeer.NginxOptions{Stream: true, ProxyTarget: tu.Listeners()[0].Addr().String(), ProxySSL: true, ProxyCA: cert.CA})
			c, err := dialTLS(ng.Addr, ng.CA.ClientTLS("localhost", nil))
			if err != nil {
				t.Fatalf("TLS to nginx: %v", err)
			}
			s, err := roundTrip(c, "via nginx")
			c.Close()
			switch policy {
			case "prefer":
				if err != nil || s != "via nginx" {
					t.Fatalf("echo through nginx -> tunnel: %q %v", s, err)
				}
				waitMetric(t, reg, pqtls.MetricGroupTotal, map[string]string{"role": "server", "group": "x25519", "kind": "classical"}, 1)
			case "require":
				if err == nil {
					t.Fatal("nginx (classical) got through a require-mode tunnel")
				}
				waitFor(t, "policy refusal counted", func() bool {
					return metricValue(t, reg, pqtls.MetricErrorsTotal, map[string]string{"reason": pqtls.ReasonPolicyClassicalPeer}) >= 1
				})
			}
		})
	}
}
