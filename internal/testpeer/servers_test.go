package testpeer

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

func TestInteropNginxHTTP(t *testing.T) {
	n := Nginx(t, NginxOptions{ECDHCurve: "X25519:prime256v1"})
	// Debian's nginx (OpenSSL 3.0) cannot do hybrids: a Go client offering
	// X25519MLKEM768 first falls back to X25519.
	body, got := httpsGet(t, n.CA, "https://"+n.Addr+"/x")
	if body != "hello from nginx\n" || got.CurveID != tls.X25519 {
		t.Errorf("body %q group %v", body, got.CurveID)
	}
	cfg := n.CA.ClientTLS("localhost", nil)
	cfg.CurvePreferences = []tls.CurveID{tls.CurveP256}
	st, err := goHandshake(n.Addr, cfg)
	if err != nil || st.CurveID != tls.CurveP256 {
		t.Errorf("P-256: %v %v", st.CurveID, err)
	}
	cfg.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768}
	if _, err := goHandshake(n.Addr, cfg); err == nil {
		t.Error("hybrid-only Go client negotiated with OpenSSL 3.0 nginx")
	}
	if !strings.Contains(n.AccessLog(), "GET /x") {
		t.Errorf("access log %q", n.AccessLog())
	}
}

func TestInteropNginxStreamProxy(t *testing.T) {
	// Upstream: a Go TLS server recording what nginx (as a client) offered.
	ca := testpki.NewCA(t)
	upCfg := ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false)
	addr, states := goServer(t, upCfg)
	n := Nginx(t, NginxOptions{Stream: true, ProxyTarget: addr, ProxySSL: true, ProxyCA: ca,
		ClientCA: ca})
	cfg := n.CA.ClientTLS("localhost", ca.Client(t, testpki.CertOptions{}))
	_, body, err := goDial(t, n.Addr, cfg)
	if err != nil || body != "hello from go\n" {
		t.Fatalf("through nginx: %q %v", body, err)
	}
	if st := <-states; st.CurveID != tls.X25519 || st.Version != tls.VersionTLS13 {
		t.Errorf("nginx as client negotiated %v %x", st.CurveID, st.Version)
	}
	// Without a client certificate nginx refuses.
	c, err := tls.Dial("tcp", n.Addr, n.CA.ClientTLS("localhost", nil))
	if err == nil {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = bufio.NewReader(c).ReadString('\n')
		c.Close()
	}
	if err == nil {
		t.Error("nginx accepted a client without certificate")
	}
}

func TestInteropNginxPlainStream(t *testing.T) {
	n := Nginx(t, NginxOptions{Stream: true, NoTLS: true, Body: "plain\n"})
	c, err := net.DialTimeout("tcp", n.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	if string(b) != "plain\n" {
		t.Errorf("got %q", b)
	}
}

func TestInteropRedisTLS(t *testing.T) {
	ca := testpki.NewCA(t)
	r := Redis(t, RedisOptions{ClientCA: ca})
	c, err := tls.Dial("tcp", r.Addr, r.CA.ClientTLS("localhost", ca.Client(t, testpki.CertOptions{})))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if line, err := redisPing(c); err != nil || line != "+PONG\r\n" {
		t.Fatalf("PING: %q %v", line, err)
	}
	if g := c.ConnectionState().CurveID; g != tls.X25519 {
		t.Errorf("redis (OpenSSL 3.0) negotiated %v, want X25519", g)
	}
	// Without a client certificate Redis refuses.
	c2, err := tls.Dial("tcp", r.Addr, r.CA.ClientTLS("localhost", nil))
	if err == nil {
		defer c2.Close()
		if line, err := redisPing(c2); err == nil {
			t.Errorf("redis answered %q without a client certificate", line)
		}
	}
}

func TestInteropRedisPlain(t *testing.T) {
	r := Redis(t, RedisOptions{NoTLS: true})
	c, err := net.DialTimeout("tcp", r.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if line, err := redisPing(c); err != nil || line != "+PONG\r\n" {
		t.Fatalf("PING: %q %v", line, err)
	}
}

func TestInteropHAProxy(t *testing.T) {
	h := HAProxy(t, HAProxyOptions{Curves: "P-256"})
	body, st := httpsGet(t, h.CA, "https://"+h.Addr+"/")
	if body != "hello from haproxy\n" || st.CurveID != tls.CurveP256 {
		t.Errorf("body %q group %v", body, st.CurveID)
	}
}

func TestInteropHAProxyTCPToTLSBackend(t *testing.T) {
	ca := testpki.NewCA(t)
	addr, states := goServer(t, ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false))
	h := HAProxy(t, HAProxyOptions{TCP: true, Backend: addr, BackendSSL: true, BackendCA: ca})
	_, body, err := goDial(t, h.Addr, h.CA.ClientTLS("localhost", nil))
	if err != nil || body != "hello from go\n" {
		t.Fatalf("through haproxy: %q %v", body, err)
	}
	// HAProxy as a TLS client (OpenSSL 3.0) is classical.
	if st := <-states; st.CurveID != tls.X25519 {
		t.Errorf("haproxy as client negotiated %v", st.CurveID)
	}
}

func TestInteropPostgresSSL(t *testing.T) {
	Require(t, PeerPsql)
	pg := Postgres(t, PostgresOptions{SSL: true, SSLOnly: true})
	got := pg.Psql(t, "verify-full", "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
	if got != "t|TLSv1.3" {
		t.Errorf("pg_stat_ssl: %q", got)
	}
	// PostgreSQL 15 links OpenSSL 3.0 and its ssl_ecdh_curve defaults to a
	// single curve, prime256v1: classical P-256 even for a client offering
	// X25519MLKEM768 and X25519.
	if g := pg.Handshake(t).CurveID; g != tls.CurveP256 {
		t.Errorf("postgres negotiated %v", g)
	}
}

func TestInteropPostgresPlainAndPgbench(t *testing.T) {
	Require(t, PeerPsql, PeerPgbench)
	pg := Postgres(t, PostgresOptions{})
	if got := pg.Psql(t, "disable", "SELECT 40 + 2"); got != "42" {
		t.Errorf("psql: %q", got)
	}
	c, err := net.DialTimeout("tcp", pg.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := PostgresSSLRequest(c); err == nil || !strings.Contains(err.Error(), "TLS is off") {
		t.Errorf("SSLRequest on a cleartext server: %v", err)
	}
	res := Pgbench(t, PgbenchOptions{Host: pg.Host, Port: pg.Port, Clients: 2, Transactions: 20, SelectOnly: true})
	if res.Transactions != 40 || res.Failed != 0 || res.TPS <= 0 {
		t.Errorf("pgbench %+v", res)
	}
	if filepath.Dir(pg.DataDir) != pg.SocketDir {
		t.Errorf("socket dir %s", pg.SocketDir)
	}
}

func TestInteropNodeServerGroups(t *testing.T) {
	srv := NodeServer(t, NodeServerOptions{Curves: "X25519MLKEM768:SecP256r1MLKEM768:SecP384r1MLKEM1024:X25519:P-256"})
	for _, id := range []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.X25519, tls.CurveP256} {
		t.Run(id.String(), func(t *testing.T) {
			cfg := srv.CA.ClientTLS("localhost", nil)
			cfg.CurvePreferences = []tls.CurveID{id}
			st, body, err := goDial(t, srv.Addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if st.CurveID != id {
				t.Errorf("Go client got %v, want %v", st.CurveID, id)
			}
			if body != "hello from node\n" {
				t.Errorf("body %q", body)
			}
			ev := srv.Next(t)
			if ev.Event != "handshake" || ev.GroupID != id || ev.Protocol != "TLSv1.3" || ev.HelloRetry {
				t.Errorf("node saw %+v, want group %v", ev, id)
			}
			if ev.ServerName != "localhost" {
				t.Errorf("SNI %q", ev.ServerName)
			}
		})
	}
}

func TestInteropNodeServerHelloRetryAndFailure(t *testing.T) {
	srv := NodeServer(t, NodeServerOptions{Curves: "SecP256r1MLKEM768"})
	// Go sends key shares for X25519MLKEM768 and X25519 only: HRR.
	cfg := srv.CA.ClientTLS("localhost", nil)
	cfg.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.SecP256r1MLKEM768}
	st, _, err := goDial(t, srv.Addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev := srv.Next(t)
	if !st.HelloRetryRequest || !ev.HelloRetry || ev.GroupID != tls.SecP256r1MLKEM768 {
		t.Errorf("go HRR %v group %v; node %+v", st.HelloRetryRequest, st.CurveID, ev)
	}
	if len(ev.KeyShares) != 2 || ev.KeyShares[0] != tls.X25519MLKEM768 {
		t.Errorf("node saw key shares %v", ev.KeyShares)
	}
	// No common group: the Go client gets an alert, Node reports an error.
	cfg = srv.CA.ClientTLS("localhost", nil)
	cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	if _, _, err := goDial(t, srv.Addr, cfg); err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Errorf("classical-only Go client: %v", err)
	}
	ev = srv.Next(t)
	if ev.Event != "error" || ev.Error == "" {
		t.Errorf("node saw %+v, want an error event", ev)
	}
}

func TestInteropNodeClientGroups(t *testing.T) {
	ca := testpki.NewCA(t)
	cfg := ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false)
	cfg.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.X25519, tls.CurveP256}
	addr, states := goServer(t, cfg)
	for _, tc := range []struct {
		curves    string
		want      tls.CurveID
		nodeName  string
		groupType string
	}{
		{"", tls.X25519MLKEM768, "X25519MLKEM768", "TLSGroup"}, // Node 26 default
		{"X25519MLKEM768", tls.X25519MLKEM768, "X25519MLKEM768", "TLSGroup"},
		{"SecP256r1MLKEM768", tls.SecP256r1MLKEM768, "SecP256r1MLKEM768", "TLSGroup"},
		{"SecP384r1MLKEM1024", tls.SecP384r1MLKEM1024, "SecP384r1MLKEM1024", "TLSGroup"},
		{"X25519", tls.X25519, "X25519", "ECDH"},
		{"P-256", tls.CurveP256, "prime256v1", "ECDH"},
	} {
		t.Run("curves="+tc.curves, func(t *testing.T) {
			res := NodeClient(t, addr, NodeClientOptions{Curves: tc.curves, CA: ca})
			st := <-states
			if !res.Connected || res.Error != "" {
				t.Fatalf("node client: %+v", res)
			}
			if res.Group != tc.nodeName || res.GroupType != tc.groupType || res.GroupID != tc.want {
				t.Errorf("node saw %q/%q/%v, want %q/%q/%v", res.Group, res.GroupType, res.GroupID, tc.nodeName, tc.groupType, tc.want)
			}
			if st.CurveID != tc.want {
				t.Errorf("go server saw %v, want %v", st.CurveID, tc.want)
			}
			if !res.Authorized || res.Response != "hello from go\n" || res.Protocol != "TLSv1.3" {
				t.Errorf("node result %+v", res)
			}
		})
	}
}

// TestInteropNodePureMLKEM covers MLKEM768, which Go cannot negotiate: Node
// talks to Node.
func TestInteropNodePureMLKEM(t *testing.T) {
	srv := NodeServer(t, NodeServerOptions{Curves: "MLKEM768"})
	res := NodeClient(t, srv.Addr, NodeClientOptions{Curves: "MLKEM768", CA: srv.CA})
	if res.Error != "" || res.Group != "MLKEM768" || res.GroupID != 0x0201 {
		t.Fatalf("node client %+v", res)
	}
	if ev := srv.Next(t); ev.GroupID != 0x0201 || ev.Group != "MLKEM768" {
		t.Errorf("node server %+v", ev)
	}
	// A Go client cannot: the server answers with handshake_failure.
	cfg := srv.CA.ClientTLS("localhost", nil)
	if _, _, err := goDial(t, srv.Addr, cfg); err == nil {
		t.Error("Go client negotiated with an MLKEM768-only server")
	}
}

func TestInteropNodeClientRefused(t *testing.T) {
	ca := testpki.NewCA(t)
	cfg := ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false)
	cfg.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768}
	addr, states := goServer(t, cfg)
	res := NodeClient(t, addr, NodeClientOptions{Curves: "X25519", CA: ca})
	<-states
	if res.Connected || res.Alert != 40 || res.AlertDescription != "handshake_failure" {
		t.Errorf("node client %+v, want alert 40", res)
	}
	// A server certificate from another CA is rejected by Node.
	res = NodeClient(t, addr, NodeClientOptions{CA: testpki.NewCA(t)})
	<-states
	if res.Connected || res.Error == "" {
		t.Errorf("node accepted an untrusted server: %+v", res)
	}
}

func TestInteropNodeClientCert(t *testing.T) {
	ca := testpki.NewCA(t)
	srv := NodeServer(t, NodeServerOptions{Cert: ca.Server(t, testpki.CertOptions{}), ClientCA: ca, RequestCert: true, RejectUnauthorized: true})
	res := NodeClient(t, srv.Addr, NodeClientOptions{CA: ca, Cert: ca.Client(t, testpki.CertOptions{CommonName: "svc-a"})})
	if res.Error != "" || res.Response != "hello from node\n" {
		t.Fatalf("node client %+v", res)
	}
	if ev := srv.Next(t); !ev.Authorized || ev.PeerCN != "svc-a" {
		t.Errorf("node server %+v", ev)
	}
	// Without a certificate the server refuses (TLS 1.3: after the client's
	// handshake completes, so the client sees the alert on read).
	res = NodeClient(t, srv.Addr, NodeClientOptions{CA: ca})
	if res.Response != "" || res.Error == "" {
		t.Errorf("node client without cert: %+v", res)
	}
	if ev := srv.Next(t); ev.Event != "error" {
		t.Errorf("node server %+v", ev)
	}
}

// TestInteropNodeTLS12 checks the TLS 1.2 path: the group comes from the
// ServerKeyExchange in the trace, on both sides.
func TestInteropNodeTLS12(t *testing.T) {
	srv := NodeServer(t, NodeServerOptions{MaxVersion: "TLSv1.2", Curves: "X25519:P-256"})
	res := NodeClient(t, srv.Addr, NodeClientOptions{CA: srv.CA, Curves: "P-256:X25519"})
	// OpenSSL's server picks by its own order in TLS 1.2: X25519.
	if res.Error != "" || res.Protocol != "TLSv1.2" || res.GroupID != tls.X25519 || res.Group != "X25519" {
		t.Errorf("node client %+v", res)
	}
	ev := srv.Next(t)
	if ev.Protocol != "TLSv1.2" || ev.GroupID != tls.X25519 || ev.HelloRetry || len(ev.Offered) != 2 || ev.Offered[0] != tls.CurveP256 {
		t.Errorf("node server %+v", ev)
	}
	cfg := srv.CA.ClientTLS("localhost", nil)
	cfg.CurvePreferences = []tls.CurveID{tls.CurveP256}
	if st, err := goHandshake(srv.Addr, cfg); err != nil || st.Version != tls.VersionTLS12 || st.CurveID != tls.CurveP256 {
		t.Errorf("go client: %v %x %v", st.CurveID, st.Version, err)
	}
	if ev := srv.Next(t); ev.GroupID != tls.CurveP256 {
		t.Errorf("node server %+v", ev)
	}
}

func TestInteropNodeEcho(t *testing.T) {
	srv := NodeServer(t, NodeServerOptions{Echo: true})
	msg := strings.Repeat("pqtls-echo ", 1000)
	res := NodeClient(t, srv.Addr, NodeClientOptions{CA: srv.CA, Send: msg})
	if res.Error != "" || res.Response != msg || res.GroupID != tls.X25519MLKEM768 {
		t.Errorf("echo: error %q, %d bytes back, group %v", res.Error, len(res.Response), res.GroupID)
	}
	if ev := srv.Next(t); ev.GroupID != tls.X25519MLKEM768 {
		t.Errorf("node server %+v", ev)
	}
}
