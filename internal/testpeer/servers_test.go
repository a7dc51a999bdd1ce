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
