package tunnel

// Shared setup of the package's tests: the test PKI (on internal/testpki,
// its files next to each other in one folder as operators lay them out),
// backends, tunnels, clients, logs and metrics.

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// testPKI is a throwaway CA whose certificate (ca.pem) and issued leaves
// are files in one temp dir.
type testPKI struct {
	*testpki.CA
	dir    string // the folder of the PEM files
	caPath string // the CA certificate file
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	ca, dir := testpki.NewCA(t), t.TempDir()
	return &testPKI{CA: ca, dir: dir, caPath: ca.WriteCertFile(t, dir)}
}

// certOpts describes a leaf: a server certificate (SANs dns and 127.0.0.1)
// unless client.
type certOpts struct {
	cn       string
	dns      []string
	uris     []string
	ous      []string
	client   bool
	notAfter time.Time
	name     string // file name stem; default cn
}

// issue creates a leaf certificate and writes name.pem / name.key (each
// replaced by a rename, so a file watcher never sees half a file).
func (p *testPKI) issue(t testing.TB, o certOpts) (tls.Certificate, string, string) {
	t.Helper()
	opts := testpki.CertOptions{CommonName: o.cn, DNSNames: o.dns, URIs: o.uris, OrganizationalUnit: o.ous,
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: o.notAfter, NoDefaultSANs: true}
	leaf := p.Client
	if !o.client {
		leaf, opts.IPs = p.Server, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	c := leaf(t, opts)
	name := o.name
	if name == "" {
		name = o.cn
	}
	files := []devpki.File{{Name: name + ".pem", Data: c.CertPEM, Mode: 0o644}, {Name: name + ".key", Data: c.KeyPEM, Mode: 0o600}}
	if err := devpki.WriteFiles(p.dir, files, true); err != nil {
		t.Fatal(err)
	}
	return c.TLS, filepath.Join(p.dir, files[0].Name), filepath.Join(p.dir, files[1].Name)
}

// serverListener is a server-mode listener "db" in front of target, with a
// certificate for db.internal (server.pem, server.key) from p.
func serverListener(t testing.TB, p *testPKI, target string) ListenerConfig {
	_, cert, key := p.issue(t, certOpts{cn: "db.internal", dns: []string{"db.internal"}, name: "server"})
	return ListenerConfig{Name: "db", Mode: ModeServer, Listen: "127.0.0.1:0", Target: target, Cert: cert, Key: key}
}

// clientListener is a client-mode listener "db-client" to target, which
// must present a certificate for db.internal from p.
func clientListener(p *testPKI, target string) ListenerConfig {
	return ListenerConfig{Name: "db-client", Mode: ModeClient, Listen: "127.0.0.1:0", Target: target, CA: p.caPath, ServerName: "db.internal"}
}

// mtlsPair starts a server tunnel in front of target that requires a client
// certificate with a SPIFFE ID matching allow, and a client tunnel (policy
// require) in front of it presenting one with SPIFFE ID id.
func mtlsPair(t *testing.T, target, allow, id string) (srv, cl *Tunnel, sreg, creg *prometheus.Registry) {
	t.Helper()
	p := newPKI(t)
	sl := serverListener(t, p, target)
	sl.CA, sl.Allow = p.caPath, ACL{URI: []string{allow}}
	srv, sreg = startTunnel(t, Config{Listeners: []ListenerConfig{sl}})
	cli := clientListener(p, srv.Listeners()[0].Addr().String())
	_, cli.Cert, cli.Key = p.issue(t, certOpts{cn: "client", uris: []string{id}, client: true})
	cli.Policy = "require"
	cl, creg = startTunnel(t, Config{Listeners: []ListenerConfig{cli}})
	return srv, cl, sreg, creg
}

// serverOnly starts a server tunnel in front of target and returns it with
// a client config that trusts it.
func serverOnly(t *testing.T, p *testPKI, target string, mod func(*ListenerConfig)) (*Tunnel, *prometheus.Registry, *tls.Config) {
	t.Helper()
	l := serverListener(t, p, target)
	if mod != nil {
		mod(&l)
	}
	tu, reg := startTunnel(t, Config{Listeners: []ListenerConfig{l}})
	return tu, reg, &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal"}
}

// httpBackend is a plain HTTP server on loopback answering body.
func httpBackend(t testing.TB, body string) string {
	t.Helper()
	ln := listenLocal(t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// httpGet fetches url (15 s at most, no keep-alive) and returns the status
// and the body.
func httpGet(url string) (int, string, error) {
	c := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// portOf is the port of a host:port address.
func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// serverFiles issues a server certificate from a new CA (SANs dns, or
// localhost, 127.0.0.1 and ::1) and writes cert.pem, key.pem and ca.pem.
func serverFiles(t testing.TB, dns ...string) (*testpki.Cert, testpki.Files) {
	t.Helper()
	cert := testpki.NewCA(t).Server(t, testpki.CertOptions{DNSNames: dns})
	return cert, cert.WriteFiles(t, t.TempDir())
}

// listenLocal listens on a free 127.0.0.1 port until the test ends.
func listenLocal(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// freeAddr is a 127.0.0.1 address nothing listens on (something did a
// moment ago).
func freeAddr(t testing.TB) string {
	ln := listenLocal(t)
	ln.Close()
	return ln.Addr().String()
}

// echoServer echoes each connection and propagates half-close. It returns
// its address.
func echoServer(t testing.TB) string {
	t.Helper()
	ln := listenLocal(t)
	// Two minutes per connection: bulk tests (TestPairIntegrity) move tens of
	// MB through two TLS hops and took over 10 s (the Serve default) on a
	// loaded 2-core machine; their own deadlines bound the test.
	testpeer.Serve(t, ln, 2*time.Minute, func(c net.Conn) {
		_, _ = io.Copy(c, c)
		_ = c.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, c)
	})
	return ln.Addr().String()
}

// startTunnel starts a tunnel with its own registry and closes it at the end
// of the test.
func startTunnel(t testing.TB, cfg Config) (*Tunnel, *prometheus.Registry) {
	t.Helper()
	return startLogged(t, cfg, testLogger(t), false)
}

// startJSON starts a tunnel (no file watch) with its own registry that logs
// JSON into the returned buffer; the tunnel closes when the test ends.
func startJSON(t testing.TB, cfg Config) (*Tunnel, *prometheus.Registry, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	tu, reg := startLogged(t, cfg, slog.New(slog.NewJSONHandler(logs, nil)), true)
	return tu, reg, logs
}

// startLogged starts a tunnel with its own registry and the given logger,
// and closes it at the end of the test.
func startLogged(t testing.TB, cfg Config, logger *slog.Logger, noWatch bool) (*Tunnel, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	tu, err := Start(t.Context(), cfg, Options{Registerer: reg, Logger: logger, NoWatch: noWatch})
	if err != nil {
		t.Fatalf("start tunnel: %v", err)
	}
	t.Cleanup(func() { tu.Close() })
	return tu, reg
}

func dialTLS(addr string, cfg *tls.Config) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, nil
}

func dialPlain(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, nil
}

// dialRefusal dials addr with cfg and returns why the tunnel refused the
// connection: the handshake's error or, as a TLS 1.3 client learns that its
// certificate was refused only when it reads, the first read's.
func dialRefusal(addr string, cfg *tls.Config) error {
	c, err := dialTLS(addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Read(make([]byte, 1))
	return err
}

// echoTLS dials addr with cfg and checks that msg comes back.
func echoTLS(t testing.TB, addr string, cfg *tls.Config, msg string) {
	t.Helper()
	c, err := dialTLS(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if s, err := roundTrip(c, msg); err != nil || s != msg {
		t.Fatalf("round trip through %s: %q, %v; want %q", addr, s, err, msg)
	}
}

// echoFails checks that nothing comes back through c (the tunnel cut the
// connection), failing with why if it does, and closes c.
func echoFails(t testing.TB, c net.Conn, why string) {
	t.Helper()
	defer c.Close()
	if _, err := roundTrip(c, "x"); err == nil {
		t.Fatal(why)
	}
}

// roundTrip writes msg and reads the same number of bytes back.
func roundTrip(c net.Conn, msg string) (string, error) {
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, len(msg))
	_, err := io.ReadFull(c, buf)
	return string(buf), err
}

// metricValue sums the samples of a metric whose labels include want.
func metricValue(t testing.TB, g prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	return testpeer.Value(t, g, name, want)
}

// waitMetric waits (up to 10 s) until metricValue(g, name, labels) is want.
func waitMetric(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string, want float64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s%v = %v", name, labels, want), func() bool { return metricValue(t, g, name, labels) == want })
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// logBuffer collects log output for assertions.
type logBuffer = testpeer.Buffer

type tLogWriter struct{ t testing.TB }

func (w tLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testLogger logs through t.Log with -v, else nowhere (nil: the tunnel's
// default).
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("interop test with a real peer: skipped in -short")
	}
}
