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

// PeerDebian13 is the Debian 13 (trixie) tree that scripts/test-deps.sh
// builds with debootstrap: OpenSSL 3.5 with nginx 1.26, HAProxy 3.0, curl
// 8.14, PostgreSQL 17 and Redis. Its programs negotiate the ML-KEM groups.
const PeerDebian13 = "debian13"

// debian13Stamp is the file test-deps.sh writes last into a finished tree.
const debian13Stamp = ".pqtls-debian13-stamp"

// chrootBin runs the tree's programs.
const chrootBin = "/usr/sbin/chroot"

// command maps a program's arguments to a full argv: the host binary
// ([direct]) or the Debian 13 tree's through chroot ([Debian13.command]).
type command func(args ...string) []string

// direct runs bin on the host.
func direct(bin string) command {
	return func(args ...string) []string { return append([]string{bin}, args...) }
}

// startArgv is [start] with a full argv.
func startArgv(tb testing.TB, name string, o procOptions, argv []string) *Proc {
	tb.Helper()
	return start(tb, name, o, argv[0], argv[1:]...)
}

// runArgv is [runQuick] with a full argv.
func runArgv(timeout time.Duration, argv []string) (string, error) {
	return runQuick(timeout, argv[0], argv[1:]...)
}

// Debian13Root is where the tree is: $PQTLS_DEBIAN13, else
// $PQTLS_CACHE/debian13 (where scripts/test-deps.sh builds it).
func Debian13Root() string {
	if v := os.Getenv("PQTLS_DEBIAN13"); v != "" {
		return v
	}
	return filepath.Join(cacheDir(), "debian13")
}

func findDebian13() (string, error) {
	root := Debian13Root()
	if _, err := os.Stat(filepath.Join(root, debian13Stamp)); err != nil {
		return "", fmt.Errorf("no finished Debian 13 tree at %s (scripts/test-deps.sh builds it)", root)
	}
	if os.Geteuid() != 0 {
		return "", errDebian13Root
	}
	if _, err := os.Stat(chrootBin); err != nil {
		return "", fmt.Errorf("%s: %w", chrootBin, err)
	}
	return root, nil
}

var errDebian13Root = errors.New("the Debian 13 peers run through chroot, which needs root")

// Debian13 is the Debian 13 tree. Its programs run through chroot (no
// mounts: the tree's /dev nodes suffice, and none of the peers needs /proc),
// in their own process group, stopped by PID like every peer.
type Debian13 struct {
	// Root is the tree's directory.
	Root string
}

// Deb13 returns the tree after [Require] (skip, or fail with
// PQTLS_REQUIRE_PEERS=1, when it is missing).
func Deb13(tb testing.TB) *Debian13 {
	tb.Helper()
	Require(tb, PeerDebian13)
	root, _ := Find(PeerDebian13)
	return &Debian13{Root: root}
}

// command runs bin (a path inside the tree) through chroot.
func (d *Debian13) command(bin string) command {
	return func(args ...string) []string { return append([]string{chrootBin, d.Root, bin}, args...) }
}

// Command returns the argv that runs bin (a path inside the tree) with args.
func (d *Debian13) Command(bin string, args ...string) []string { return d.command(bin)(args...) }

// Start starts bin (a path inside the tree) with args as a peer: its own
// process group, stopped by t.Cleanup. Wait for it with [WaitTCP].
func (d *Debian13) Start(tb testing.TB, name, bin string, args ...string) *Proc {
	tb.Helper()
	return startArgv(tb, name, procOptions{}, d.Command(bin, args...))
}

// TempDir makes a directory inside the tree (its /tmp) and a symlink to it
// at the same path on the host, so one path names the same files for the
// test and for the chrooted program. Both are removed by t.Cleanup.
func (d *Debian13) TempDir(tb testing.TB) string {
	tb.Helper()
	real, err := os.MkdirTemp(filepath.Join(d.Root, "tmp"), "pqtls-deb13-")
	if err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	link := filepath.Join("/tmp", filepath.Base(real))
	if err := os.Symlink(real, link); err != nil {
		os.RemoveAll(real)
		tb.Fatalf("testpeer: %v", err)
	}
	tb.Cleanup(func() {
		os.Remove(link)
		os.RemoveAll(real)
	})
	return link
}

// Run runs a one-shot program of the tree (deadline RunTimeout) and returns
// its stdout; the error includes stderr.
func (d *Debian13) Run(bin string, args ...string) (string, error) {
	return runArgv(RunTimeout, d.Command(bin, args...))
}

// Nginx starts the tree's nginx 1.26 (OpenSSL 3.5) like [Nginx]. Its
// default groups are X25519MLKEM768 first; opts.ECDHCurve overrides them.
// nginx-light has no stream module: opts.Stream is not supported.
func (d *Debian13) Nginx(tb testing.TB, opts NginxOptions) *NginxPeer {
	tb.Helper()
	if opts.Stream {
		tb.Fatalf("testpeer: the Debian 13 tree's nginx-light has no stream module")
	}
	return startNginx(tb, opts, d.TempDir(tb), d.command("/usr/sbin/nginx"))
}

// HAProxy starts the tree's HAProxy 3.0 (OpenSSL 3.5) like [HAProxy].
func (d *Debian13) HAProxy(tb testing.TB, opts HAProxyOptions) *HAProxyPeer {
	tb.Helper()
	return startHAProxy(tb, opts, d.TempDir(tb), d.command("/usr/sbin/haproxy"))
}

// Redis starts the tree's redis-server (OpenSSL 3.5) like [Redis].
func (d *Debian13) Redis(tb testing.TB, opts RedisOptions) *RedisPeer {
	tb.Helper()
	return startRedis(tb, opts, d.TempDir(tb), d.command("/usr/bin/redis-server"))
}

// OpenSSLServerOptions configures [Debian13.OpenSSLServer].
type OpenSSLServerOptions struct {
	// Cert is the server certificate; nil issues one from a new CA.
	Cert *testpki.Cert
	// Groups is s_server -groups (OpenSSL 3.5 syntax); empty = its default.
	Groups string
	// ServerPref adds -serverpref.
	ServerPref bool
}

// OpenSSLServerPeer is a running `openssl s_server -www`.
type OpenSSLServerPeer struct {
	Addr string
	Port int
	CA   *testpki.CA
	Cert *testpki.Cert
	Proc *Proc
}

// OpenSSLServer starts `openssl s_server -www` (TLS 1.3 only, one
// connection at a time, answers each with an HTTP status page) on a free
// 127.0.0.1 port.
func (d *Debian13) OpenSSLServer(tb testing.TB, opts OpenSSLServerOptions) *OpenSSLServerPeer {
	tb.Helper()
	dir := d.TempDir(tb)
	s := &OpenSSLServerPeer{}
	s.CA, s.Cert = serverCert(tb, opts.Cert)
	f := s.Cert.WriteFiles(tb, dir)
	args := []string{"s_server", "-www", "-tls1_3", "-cert", f.Cert, "-key", f.Key}
	if opts.Groups != "" {
		args = append(args, "-groups", opts.Groups)
	}
	if opts.ServerPref {
		args = append(args, "-serverpref")
	}
	s.Port, s.Proc = startOnFreePort(tb, func(port int) *Proc {
		return startArgv(tb, "openssl s_server", procOptions{}, d.Command("/usr/bin/openssl", append(args, "-accept", hostPort(port))...))
	}, nil)
	s.Addr = hostPort(s.Port)
	return s
}

// s_client -brief (OpenSSL 3.5) names the group on one of two lines:
// "Negotiated TLS1.3 group: X25519MLKEM768" for groups without a classic
// key type (ML-KEM, hybrids), "Peer Temp Key: X25519, 253 bits" or "Peer
// Temp Key: ECDH, prime256v1, 256 bits" for classical ones.
var (
	reNegotiated = regexp.MustCompile(`(?m)^Negotiated TLS1\.3 group: (\S+)`)
	reTempKey    = regexp.MustCompile(`(?m)^(?:Peer|Server) Temp Key: (?:ECDH, |DH, )?([^,\s]+),`)
)

// OpenSSLClient connects once with `openssl s_client` (TLS 1.3, -groups
// groups unless empty, verifying against ca for "localhost") and returns
// the negotiated group name as OpenSSL prints it ("X25519MLKEM768",
// "X25519", "prime256v1"), or an error with s_client's output. extra are
// more s_client arguments (e.g. "-starttls", "postgres").
func (d *Debian13) OpenSSLClient(tb testing.TB, addr, groups string, ca *testpki.CA, extra ...string) (string, error) {
	tb.Helper()
	caFile := ca.WriteCertFile(tb, d.TempDir(tb))
	args := []string{"s_client", "-connect", addr, "-servername", "localhost", "-verify_return_error",
		"-CAfile", caFile, "-tls1_3", "-brief"}
	if groups != "" {
		args = append(args, "-groups", groups)
	}
	args = append(args, extra...)
	// -brief prints the connection summary on stderr; no stdin: s_client
	// closes after the handshake.
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	var stderr tailBuffer
	stderr.max = 16 << 10
	argv := d.Command("/usr/bin/openssl", args...)
	_, err := runCtxStderr(ctx, &stderr, argv[0], argv[1:]...)
	out := stderr.String()
	if m := reNegotiated.FindStringSubmatch(out); m != nil {
		return m[1], nil
	}
	if m := reTempKey.FindStringSubmatch(out); m != nil && strings.Contains(out, "Protocol version: TLSv1.3") {
		return m[1], nil
	}
	if err == nil {
		err = fmt.Errorf("no negotiated group in s_client output")
	}
	return "", fmt.Errorf("%w\n%s", err, out)
}

// Curl fetches url once with the tree's curl 8.14 (OpenSSL 3.5), trusting
// ca, offering curves (curl --curves, e.g. "X25519MLKEM768") unless empty,
// and returns the body.
func (d *Debian13) Curl(tb testing.TB, url, curves string, ca *testpki.CA) (string, error) {
	tb.Helper()
	caFile := ca.WriteCertFile(tb, d.TempDir(tb))
	args := []string{"-sS", "--fail", "--max-time", "20", "--cacert", caFile}
	if curves != "" {
		args = append(args, "--curves", curves)
	}
	return d.Run("/usr/bin/curl", append(args, url)...)
}

// Postgres starts the tree's PostgreSQL 17 (OpenSSL 3.5) like [Postgres]:
// initdb and postgres run through `chroot --userspec=postgres` (the tree's
// postgres user). PostgreSQL 17 also accepts direct TLS (ALPN
// "postgresql", no SSLRequest).
func (d *Debian13) Postgres(tb testing.TB, opts PostgresOptions) *PostgresPeer {
	tb.Helper()
	uid, gid, err := d.user("postgres")
	if err != nil {
		tb.Fatalf("testpeer: Debian 13 tree: %v", err)
	}
	p, pg := d.postgresInit(tb, uid, gid)
	dir := p.SocketDir
	args := []string{"-D", p.DataDir, "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
		"-c", "logging_collector=off", "-c", "max_connections=20", "-c", "shared_buffers=16MB",
		"-c", "dynamic_shared_memory_type=mmap"}
	if opts.SSL || opts.Cert != nil {
		p.CA, p.Cert = serverCert(tb, opts.Cert)
		for name, data := range map[string][]byte{"server.crt": p.Cert.CertPEM, "server.key": p.Cert.KeyPEM, "root.crt": p.CA.CertPEM} {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				tb.Fatalf("testpeer: %v", err)
			}
			if err := os.Chown(path, uid, gid); err != nil {
				tb.Fatalf("testpeer: %v", err)
			}
		}
		args = append(args, "-c", "ssl=on", "-c", "ssl_cert_file="+dir+"/server.crt", "-c", "ssl_key_file="+dir+"/server.key")
		if opts.ECDHCurve != "" {
			args = append(args, "-c", "ssl_ecdh_curve="+opts.ECDHCurve)
		}
		if opts.MinProtocol != "" {
			args = append(args, "-c", "ssl_min_protocol_version="+opts.MinProtocol)
		}
	}
	for k, v := range opts.Settings {
		args = append(args, "-c", k+"="+v)
	}
	p.Port, p.Proc = startOnFreePort(tb, func(port int) *Proc {
		return startArgv(tb, "postgres 17", procOptions{stop: syscall.SIGINT}, pg("postgres", append(args, "-p", strconv.Itoa(port))...))
	}, func(port int, proc *Proc) error {
		p.Proc = proc
		return waitArgv(proc, StartTimeout, pg("pg_isready", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", p.User, "-t", "2"))
	})
	p.Addr = hostPort(p.Port)
	return p
}

// postgresInit runs initdb in a new directory of the tree owned by the
// tree's postgres user, and returns the peer (no process yet) and the argv
// builder that runs a PostgreSQL 17 program as that user.
func (d *Debian13) postgresInit(tb testing.TB, uid, gid int) (*PostgresPeer, func(prog string, args ...string) []string) {
	tb.Helper()
	const bin = "/usr/lib/postgresql/17/bin/"
	dir := d.TempDir(tb)
	if err := os.Chown(dir, uid, gid); err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	pg := func(prog string, args ...string) []string {
		return append([]string{chrootBin, "--userspec=postgres:postgres", d.Root, "/usr/bin/env", "LC_ALL=C", bin + prog}, args...)
	}
	p := &PostgresPeer{Host: "127.0.0.1", User: "postgres", DBName: "postgres", SocketDir: dir, DataDir: filepath.Join(dir, "data")}
	if out, err := runArgv(RunTimeout, pg("initdb", "-D", p.DataDir, "-U", p.User, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")); err != nil {
		tb.Fatalf("testpeer: initdb: %v\n%s", err, out)
	}
	return p, pg
}

// waitArgv polls argv until it succeeds, p exits or timeout passes.
func waitArgv(p *Proc, timeout time.Duration, argv []string) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("%s exited: %v\n%s", p.Name, p.waitErr, tail(p.Output(), 4000))
		}
		if _, err := runArgv(5*time.Second, argv); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready within %v\n%s", p.Name, timeout, tail(p.Output(), 4000))
}

// user returns the uid and gid of a user of the tree (its /etc/passwd,
// not the host's).
func (d *Debian13) user(name string) (int, int, error) {
	b, err := os.ReadFile(filepath.Join(d.Root, "etc", "passwd"))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 3 && f[0] == name {
			uid, err1 := strconv.Atoi(f[2])
			gid, err2 := strconv.Atoi(f[3])
			if err1 != nil || err2 != nil {
				return 0, 0, fmt.Errorf("bad passwd line %q", line)
			}
			return uid, gid, nil
		}
	}
	return 0, 0, fmt.Errorf("no user %s in %s/etc/passwd", name, d.Root)
}

// Debian13Versions runs each peer's version command in the tree and returns
// its first line, keyed by program: "nginx", "haproxy", "curl", "openssl",
// "postgres", "redis-server".
func (d *Debian13) Versions(tb testing.TB) map[string]string {
	tb.Helper()
	cmds := map[string][]string{
		"nginx":        {"/usr/sbin/nginx", "-v"},
		"haproxy":      {"/usr/sbin/haproxy", "-v"},
		"curl":         {"/usr/bin/curl", "--version"},
		"openssl":      {"/usr/bin/openssl", "version"},
		"postgres":     {"/usr/lib/postgresql/17/bin/postgres", "--version"},
		"redis-server": {"/usr/bin/redis-server", "--version"},
	}
	out := map[string]string{}
	for name, c := range cmds {
		ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
		var stderr tailBuffer
		stderr.max = 4096
		argv := d.Command(c[0], c[1:]...)
		stdout, err := runCtxStderr(ctx, &stderr, argv[0], argv[1:]...)
		cancel()
		if err != nil {
			tb.Fatalf("testpeer: %s: %v", name, err)
		}
		text := strings.TrimSpace(stdout + stderr.String()) // nginx -v prints on stderr
		first, _, _ := strings.Cut(text, "\n")
		out[name] = first
	}
	return out
}

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
