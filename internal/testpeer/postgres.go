package testpeer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/starttls"
	"github.com/pqtls/pqtls/internal/testpki"
)

// PostgresOptions configures [Postgres]. The zero value is a cleartext
// server with trust authentication.
type PostgresOptions struct {
	// SSL turns on TLS (ssl=on) with Cert, or a certificate from a new CA.
	SSL bool
	// Cert is the server certificate (implies SSL).
	Cert *testpki.Cert
	// SSLOnly rejects cleartext TCP connections (pg_hba hostnossl reject).
	SSLOnly bool
	// ECDHCurve is ssl_ecdh_curve (one curve name, e.g. "prime256v1").
	ECDHCurve string
	// MinProtocol is ssl_min_protocol_version, e.g. "TLSv1.3".
	MinProtocol string
	// Settings are extra "-c name=value" settings.
	Settings map[string]string
}

// PostgresPeer is a running PostgreSQL 15.
type PostgresPeer struct {
	// Host is 127.0.0.1, Port the TCP port.
	Host string
	Port int
	// Addr is "127.0.0.1:port".
	Addr string
	// User is the superuser ("postgres"), DBName the database ("postgres").
	User, DBName string
	// SocketDir holds the unix socket.
	SocketDir string
	// DataDir is the cluster directory.
	DataDir string
	// CA issued Cert when SSL is on.
	CA   *testpki.CA
	Cert *testpki.Cert
	// Proc is the postmaster.
	Proc *Proc
}

// DSN returns a libpq keyword/value connection string over TCP with the
// given sslmode ("disable", "require", "verify-full"...); with verify-ca or
// verify-full, sslrootcert points to the CA file.
func (p *PostgresPeer) DSN(sslmode string) string {
	s := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=%s connect_timeout=10", p.Host, p.Port, p.User, p.DBName, sslmode)
	if strings.HasPrefix(sslmode, "verify") {
		s += " sslrootcert=" + filepath.Join(filepath.Dir(p.DataDir), "root.crt")
	}
	return s
}

// Postgres runs initdb in a temp dir and starts postgres on a free
// 127.0.0.1 port with trust authentication, fsync off, and its unix socket
// in the temp dir, then waits until it accepts queries (pg_isready). As root,
// initdb and postgres run as the `postgres` system user (the temp dir is
// chowned to it). The server is stopped (fast shutdown) by t.Cleanup.
func Postgres(tb testing.TB, opts PostgresOptions) *PostgresPeer {
	tb.Helper()
	Require(tb, PeerPostgres)
	var cred *syscall.Credential
	var uid, gid = os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		u, g, err := postgresUser()
		if err != nil {
			Missing(tb, PeerPostgres, err)
		}
		cred = &syscall.Credential{Uid: u, Gid: g}
		uid, gid = int(u), int(g)
	}
	// Not t.TempDir: its parents are 0700 root, so the postgres user could
	// not reach it.
	dir, err := os.MkdirTemp("", "pqtls-pg-")
	if err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		tb.Fatalf("testpeer: chown %s: %v", dir, err)
	}
	p := &PostgresPeer{Host: "127.0.0.1", User: "postgres", DBName: "postgres", SocketDir: dir, DataDir: filepath.Join(dir, "data")}
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	if out, err := runCtx(ctx, []string{"LC_ALL=C"}, cred, filepath.Join(pgBinDir, "initdb"),
		"-D", p.DataDir, "-U", p.User, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		tb.Fatalf("testpeer: initdb: %v\n%s", err, out)
	}
	args := []string{"-D", p.DataDir, "-k", dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "logging_collector=off", "-c", "max_connections=50", "-c", "shared_buffers=16MB"}
	if opts.Cert != nil {
		opts.SSL = true
	}
	if opts.SSL {
		p.CA, p.Cert = serverCert(tb, opts.Cert)
		for _, f := range []struct {
			name string
			data []byte
			mode os.FileMode
		}{{"server.crt", p.Cert.CertPEM, 0o644}, {"server.key", p.Cert.KeyPEM, 0o600}, {"root.crt", p.CA.CertPEM, 0o644}} {
			path := filepath.Join(dir, f.name)
			if err := os.WriteFile(path, f.data, f.mode); err != nil {
				tb.Fatalf("testpeer: %v", err)
			}
			if err := os.Chown(path, uid, gid); err != nil {
				tb.Fatalf("testpeer: %v", err)
			}
		}
		args = append(args, "-c", "ssl=on", "-c", "ssl_cert_file="+filepath.Join(dir, "server.crt"),
			"-c", "ssl_key_file="+filepath.Join(dir, "server.key"))
		if opts.ECDHCurve != "" {
			args = append(args, "-c", "ssl_ecdh_curve="+opts.ECDHCurve)
		}
		if opts.MinProtocol != "" {
			args = append(args, "-c", "ssl_min_protocol_version="+opts.MinProtocol)
		}
		if opts.SSLOnly {
			hba := "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n"
			if err := os.WriteFile(filepath.Join(p.DataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
				tb.Fatalf("testpeer: %v", err)
			}
			_ = os.Chown(filepath.Join(p.DataDir, "pg_hba.conf"), uid, gid)
		}
	}
	for k, v := range opts.Settings {
		args = append(args, "-c", k+"="+v)
	}
	for attempt := 0; ; attempt++ {
		p.Port = FreePort(tb)
		p.Addr = hostPort(p.Port)
		p.Proc = start(tb, "postgres", procOptions{cred: cred, stop: syscall.SIGINT, env: []string{"LC_ALL=C"}},
			filepath.Join(pgBinDir, "postgres"), append(args, "-p", strconv.Itoa(p.Port))...)
		err := p.waitReady(StartTimeout)
		if err == nil {
			return p
		}
		// Another process may have taken the free port in between: retry once.
		if attempt == 0 && strings.Contains(p.Proc.Output(), "could not bind") {
			p.Proc.Stop()
			continue
		}
		tb.Fatalf("testpeer: postgres: %v", err)
	}
}

// waitReady polls pg_isready until the server accepts connections.
func (p *PostgresPeer) waitReady(timeout time.Duration) error {
	isready := filepath.Join(pgBinDir, "pg_isready")
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.Proc.Exited() {
			return fmt.Errorf("postgres exited: %v\n%s", p.Proc.waitErr, tail(p.Proc.Output(), 4000))
		}
		if _, err := runQuick(5*time.Second, isready, "-q", "-h", p.Host, "-p", strconv.Itoa(p.Port), "-U", p.User, "-t", "2"); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("postgres not ready on %s within %v\n%s", p.Addr, timeout, tail(p.Proc.Output(), 4000))
}

// Psql runs one SQL command with psql over TCP (sslmode as in DSN) and
// returns its unaligned, tuples-only output, trimmed. It fails the test on
// error.
func (p *PostgresPeer) Psql(tb testing.TB, sslmode, sql string) string {
	tb.Helper()
	Require(tb, PeerPsql)
	psql, _ := Find(PeerPsql)
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	out, err := runCtx(ctx, nil, nil, psql, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", p.DSN(sslmode), "-c", sql)
	if err != nil {
		tb.Fatalf("testpeer: psql: %v", err)
	}
	return strings.TrimSpace(out)
}

// PgbenchOptions configures [Pgbench].
type PgbenchOptions struct {
	// Host and Port to connect to (e.g. a pqtls tunnel in front of Postgres).
	Host string
	Port int
	// User and DBName; default "postgres".
	User, DBName string
	// SSLMode is libpq's sslmode (default "disable"); SSLRootCert the CA
	// file for verify-ca/verify-full.
	SSLMode, SSLRootCert string
	// Scale is the -i scale factor (default 1: 100k rows).
	Scale int
	// Clients (-c, default 2), Transactions per client (-t, default 50).
	Clients, Transactions int
	// Connect makes every transaction open a new connection (-C), so each
	// transaction costs a TLS handshake.
	Connect bool
	// SelectOnly runs the built-in select-only script (-S).
	SelectOnly bool
}

// PgbenchResult is pgbench's summary.
type PgbenchResult struct {
	// TPS is "tps = N (without initial connection time)".
	TPS float64
	// Transactions processed, Failed transactions.
	Transactions, Failed int
	// LatencyMs is the average latency.
	LatencyMs float64
	// Output is pgbench's full stdout.
	Output string
}

var (
	reTPS     = regexp.MustCompile(`tps = ([0-9.]+)`)
	reTx      = regexp.MustCompile(`number of transactions actually processed: (\d+)`)
	reFailed  = regexp.MustCompile(`number of failed transactions: (\d+)`)
	reLatency = regexp.MustCompile(`latency average = ([0-9.]+) ms`)
)

// Pgbench initializes the pgbench tables (pgbench -i -q) and runs one
// bounded benchmark (-c clients, -t transactions, never open-ended), with a
// deadline of RunTimeout each. It fails the test if pgbench fails.
func Pgbench(tb testing.TB, opts PgbenchOptions) PgbenchResult {
	tb.Helper()
	Require(tb, PeerPgbench)
	bin, _ := Find(PeerPgbench)
	if opts.User == "" {
		opts.User = "postgres"
	}
	if opts.DBName == "" {
		opts.DBName = "postgres"
	}
	if opts.SSLMode == "" {
		opts.SSLMode = "disable"
	}
	if opts.Scale == 0 {
		opts.Scale = 1
	}
	if opts.Clients == 0 {
		opts.Clients = 2
	}
	if opts.Transactions == 0 {
		opts.Transactions = 50
	}
	env := []string{"PGSSLMODE=" + opts.SSLMode, "PGCONNECT_TIMEOUT=10"}
	if opts.SSLRootCert != "" {
		env = append(env, "PGSSLROOTCERT="+opts.SSLRootCert)
	}
	conn := []string{"-h", opts.Host, "-p", strconv.Itoa(opts.Port), "-U", opts.User}
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	if out, err := runCtx(ctx, env, nil, bin, append(append([]string{"-i", "-q", "-s", strconv.Itoa(opts.Scale)}, conn...), opts.DBName)...); err != nil {
		tb.Fatalf("testpeer: pgbench -i: %v\n%s", err, out)
	}
	args := append([]string{"-n", "-c", strconv.Itoa(opts.Clients), "-j", "1", "-t", strconv.Itoa(opts.Transactions)}, conn...)
	if opts.Connect {
		args = append(args, "-C")
	}
	if opts.SelectOnly {
		args = append(args, "-S")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel2()
	out, err := runCtx(ctx2, env, nil, bin, append(args, opts.DBName)...)
	if err != nil {
		tb.Fatalf("testpeer: pgbench: %v\n%s", err, out)
	}
	res := PgbenchResult{Output: out}
	if m := reTPS.FindStringSubmatch(out); m != nil {
		res.TPS, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reTx.FindStringSubmatch(out); m != nil {
		res.Transactions, _ = strconv.Atoi(m[1])
	}
	if m := reFailed.FindStringSubmatch(out); m != nil {
		res.Failed, _ = strconv.Atoi(m[1])
	}
	if m := reLatency.FindStringSubmatch(out); m != nil {
		res.LatencyMs, _ = strconv.ParseFloat(m[1], 64)
	}
	if res.Transactions == 0 {
		tb.Fatalf("testpeer: pgbench reported no transactions:\n%s", out)
	}
	return res
}

// postgresUser returns the uid/gid of the system user PostgreSQL runs as when
// the tests run as root (initdb and postgres refuse to run as root).
func postgresUser() (uint32, uint32, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, errors.New("running as root: PostgreSQL needs the postgres system user (Debian's postgresql package creates it)")
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("postgres user: bad uid/gid %s/%s", u.Uid, u.Gid)
	}
	return uint32(uid), uint32(gid), nil
}

// Handshake dials the server, sends the SSLRequest and completes a TLS
// handshake with a client of the server's CA (ServerName localhost),
// failing the test on error. It returns the connection state.
func (p *PostgresPeer) Handshake(tb testing.TB) tls.ConnectionState {
	tb.Helper()
	c, err := net.DialTimeout("tcp", p.Addr, 10*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if err := PostgresSSLRequest(c); err != nil {
		tb.Fatal(err)
	}
	tc := tls.Client(c, p.CA.ClientTLS("localhost", nil))
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		tb.Fatal(err)
	}
	return tc.ConnectionState()
}

// PostgresSSLRequest sends PostgreSQL's SSLRequest on a fresh connection and
// reads the one-byte answer: nil for 'S' (the caller then starts a TLS
// client handshake on c), an error for 'N' (server has no TLS) or anything
// else. It sets and clears a 10 s deadline on c.
func PostgresSSLRequest(c net.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := starttls.Negotiate(ctx, c, starttls.Postgres, "")
	if errors.Is(err, starttls.ErrRefused) {
		return fmt.Errorf("postgres answered N: TLS is off on this server (ssl=off): %w", err)
	}
	return err
}
