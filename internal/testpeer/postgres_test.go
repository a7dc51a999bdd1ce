package testpeer

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
