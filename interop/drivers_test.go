package interop

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
)

// pgx runs the handshake itself (ConnConfig.TLSConfig) against Debian's
// PostgreSQL 15 (OpenSSL 3.0, classical): an instrumented prefer
// ClientConfig records it; a require ClientConfig is refused by
// PostgreSQL's classical default, and the error is recognisable.
func TestInteropPgxPostgres(t *testing.T) {
	pg := testpeer.Postgres(t, testpeer.PostgresOptions{SSL: true})
	obs, reg := observed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	connect := func(p pqtls.Policy) (*pgx.Conn, *tls.Config, error) {
		cfg, err := pqtls.ClientConfig(pqtls.Options{Policy: p, Base: &tls.Config{RootCAs: pg.CA.Pool(), ServerName: "localhost"}, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		cc, err := pgx.ParseConfig(pg.DSN("require"))
		if err != nil {
			t.Fatal(err)
		}
		cc.TLSConfig = cfg // the one line a service changes
		cc.Fallbacks = nil
		c, err := pgx.ConnectConfig(ctx, cc)
		return c, cfg, err
	}
	conn, _, err := connect(pqtls.Policy{})
	if err != nil {
		t.Fatalf("pgx with a prefer config: %v", err)
	}
	var one int
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1: %v %d", err, one)
	}
	tc, ok := conn.PgConn().Conn().(*tls.Conn)
	if !ok {
		t.Fatalf("pgx connection is %T, not TLS", conn.PgConn().Conn())
	}
	cs := tc.ConnectionState()
	conn.Close(ctx)
	if pqtls.IsHybrid(cs.CurveID) || cs.Version != tls.VersionTLS13 {
		t.Fatalf("PostgreSQL 15 negotiated %s %s: expected classical TLS 1.3 (OpenSSL 3.0)", pqtls.VersionName(cs.Version), pqtls.GroupName(cs.CurveID))
	}
	// PostgreSQL's ssl_ecdh_curve default is prime256v1: a HelloRetryRequest
	// from Go's X25519MLKEM768+x25519 key shares to secp256r1.
	if cs.CurveID != tls.CurveP256 {
		t.Fatalf("PostgreSQL 15 (ssl_ecdh_curve prime256v1) negotiated %s", pqtls.GroupName(cs.CurveID))
	}
	want := map[string]float64{
		group(pqtls.RoleClient, cs.CurveID):                            1,
		cipher(pqtls.RoleClient, cs.Version, cs.CipherSuite):           1,
		"tls_handshake_hello_retry_total{group=secp256r1,role=client}": 1,
	}
	wantSeries(t, reg, want)

	_, cfg, err := connect(pqtls.Policy{Mode: "require"})
	if err == nil {
		t.Fatal("require client connected to PostgreSQL 15 (classical)")
	}
	if !pqtls.RefusedByPolicy(err) {
		t.Fatalf("RefusedByPolicy(%v) = false", err)
	}
	perr := pqtls.AsPolicyError(cfg, pg.Addr, err)
	var pe *pqtls.PolicyError
	if !errors.As(perr, &pe) || pqtls.ErrorReason(perr) != pqtls.ReasonPolicyClassicalPeer {
		t.Fatalf("AsPolicyError(%v) = %v (%s)", err, perr, pqtls.ErrorReason(perr))
	}
	obs.RecordError(pqtls.RoleClient, pg.Addr, perr)
	want[errorsTotal(pqtls.RoleClient, pqtls.ReasonPolicyClassicalPeer)] = 1
	wantSeries(t, reg, want)
}

// go-redis Options.TLSConfig against Debian's Redis (OpenSSL 3.0).
func TestInteropGoRedis(t *testing.T) {
	rd := testpeer.Redis(t, testpeer.RedisOptions{})
	obs, reg := observed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := func(p pqtls.Policy) *redis.Client {
		cfg, err := pqtls.ClientConfig(pqtls.Options{Policy: p, Base: &tls.Config{RootCAs: rd.CA.Pool(), ServerName: "localhost"}, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(&redis.Options{Addr: rd.Addr, TLSConfig: cfg, MaxRetries: -1, PoolSize: 1, DialTimeout: 5 * time.Second})
		t.Cleanup(func() { c.Close() })
		return c
	}
	if err := client(pqtls.Policy{}).Ping(ctx).Err(); err != nil {
		t.Fatalf("PING with a prefer config: %v", err)
	}
	// OpenSSL 3.0 speaks TLS 1.3 with x25519 first.
	wantSeries(t, reg, map[string]float64{
		group(pqtls.RoleClient, tls.X25519):                                                     1,
		"tls_handshake_cipher_total{cipher=TLS_AES_128_GCM_SHA256,role=client,version=TLS 1.3}": 1,
	})
	err := client(pqtls.Policy{Mode: pqtls.ModeRequire}).Ping(ctx).Err()
	if err == nil || !pqtls.RefusedByPolicy(err) {
		t.Fatalf("require client against Redis (classical): %v, RefusedByPolicy=%v", err, pqtls.RefusedByPolicy(err))
	}
}

// A franz-go client (kgo.DialTLSConfig) handshakes with a pqtls listener:
// both sides record every handshake exactly once, hybrid.
func TestInteropFranzGoClient(t *testing.T) {
	testpeer.Require(t)
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})
	sobs, sreg := observed(t)
	scfg, err := pqtls.ServerConfig(pqtls.Options{Base: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := pqtls.Listen("tcp", "127.0.0.1:0", scfg, pqtls.ListenerOptions{Observer: sobs})
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	testpeer.Serve(t, ln, 5*time.Second, func(c net.Conn) {
		accepted.Add(1)
		_, _ = io.Copy(io.Discard, c) // not a Kafka broker: the request goes unanswered
	})
	cobs, creg := observed(t)
	ccfg, err := pqtls.ClientConfig(pqtls.Options{Policy: pqtls.Policy{Mode: pqtls.ModeRequire}, Base: &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}, Observer: cobs})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(ln.Addr().String()), kgo.DialTLSConfig(ccfg), kgo.RequestRetries(0), kgo.RequestTimeoutOverhead(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_ = cl.Ping(ctx) // fails: no broker behind the TLS
	cancel()
	cl.Close()
	n := accepted.Load()
	if n < 1 {
		t.Fatal("franz-go never completed a handshake")
	}
	wantSeries(t, sreg, map[string]float64{
		group(pqtls.RoleServer, tls.X25519MLKEM768):                                             float64(n),
		"tls_handshake_cipher_total{cipher=TLS_AES_128_GCM_SHA256,role=server,version=TLS 1.3}": float64(n),
		"tls_handshake_duration_seconds_count{group=x25519_mlkem768,role=server}":               float64(n),
	})
	wantSeries(t, creg, map[string]float64{
		group(pqtls.RoleClient, tls.X25519MLKEM768):                                             float64(n),
		"tls_handshake_cipher_total{cipher=TLS_AES_128_GCM_SHA256,role=client,version=TLS 1.3}": float64(n),
	})
}
