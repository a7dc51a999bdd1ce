package tunnel

import (
	"crypto/tls"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls/internal/testpeer"
)

func TestMetricsHealthAndConnectionLog(t *testing.T) {
	p := newPKI(t)
	l := serverListener(t, p, echoServer(t))
	_ = os.Chmod(l.Key, 0o644) // group/world readable: a warning
	tu, _, logs := startJSON(t, Config{Listeners: []ListenerConfig{l}, Metrics: "127.0.0.1:0"})
	c, err := dialTLS(tu.Listeners()[0].Addr().String(), &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal"})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := roundTrip(c, "12345"); err != nil || s != "12345" {
		t.Fatal(s, err)
	}
	c.Close()
	waitFor(t, "connection log line", func() bool { return strings.Contains(logs.String(), `"msg":"tunnel connection"`) })
	line := ""
	for _, ln := range strings.Split(logs.String(), "\n") {
		if strings.Contains(ln, `"msg":"tunnel connection"`) {
			line = ln
		}
	}
	for _, want := range []string{`"group":"X25519MLKEM768"`, `"version":"TLS 1.3"`, `"sni":"db.internal"`, `"bytes_to_target":5`, `"bytes_from_target":5`, `"close_reason":"eof"`, `"hrr":false`, `"peer":"127.0.0.1:`} {
		if !strings.Contains(line, want) {
			t.Errorf("connection log line lacks %s:\n%s", want, line)
		}
	}
	if !strings.Contains(logs.String(), "readable by group or others") {
		t.Errorf("no warning about the key file mode:\n%s", logs.String())
	}

	base := "http://" + tu.MetricsAddr().String()
	get := func(path string) (int, string) {
		code, body, err := httpGet(base + path)
		if err != nil {
			t.Fatal(err)
		}
		return code, body
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`tls_handshake_group_total{group="x25519_mlkem768",kind="hybrid",role="server"} 1`,
		`pqtls_tunnel_connections_total{listener="db",result="proxied"} 1`,
		`pqtls_tunnel_bytes_total{direction="to_target",listener="db"} 5`,
		`pqtls_tunnel_connections_active{listener="db"} 0`,
		`pqtls_tunnel_connection_duration_seconds_count{listener="db"} 1`,
		`pqtls_tunnel_backend_dial_seconds_count{listener="db"} 1`,
		`pqtls_tunnel_reloads_total{listener="db"} 0`,
		`pqtls_tunnel_reload_errors_total{listener="db"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz: %d %s", code, body)
	}
}

func TestReadyzReportsExpiredCertificate(t *testing.T) {
	p := newPKI(t)
	_, cert, key := p.issue(t, certOpts{cn: "old", notAfter: time.Now().Add(-time.Minute), name: "old"})
	tu, _ := startTunnel(t, Config{Listeners: []ListenerConfig{{Name: "old", Mode: ModeServer, Listen: "127.0.0.1:0", Target: echoServer(t), Cert: cert, Key: key}}})
	probs := tu.Ready()
	if len(probs) != 1 || !strings.Contains(probs[0], "expired") {
		t.Fatalf("Ready() = %q, want an expired-certificate problem", probs)
	}
}

// TestClientVerifyIdentity: a client tunnel pinned to a SPIFFE ID accepts a
// server certificate carrying it (no DNS name needed) and refuses another.
func TestClientVerifyIdentity(t *testing.T) {
	p := newPKI(t)
	_, good, goodKey := p.issue(t, certOpts{cn: "pg", uris: []string{"spiffe://example.org/ns/db/sa/postgres"}, name: "good"})
	_, bad, badKey := p.issue(t, certOpts{cn: "imposter", uris: []string{"spiffe://example.org/ns/web/sa/frontend"}, name: "bad"})
	for _, c := range []struct {
		cert, key string
		ok        bool
	}{{good, goodKey, true}, {bad, badKey, false}} {
		srv, _ := startTunnel(t, Config{Listeners: []ListenerConfig{{Mode: ModeServer, Listen: "127.0.0.1:0", Target: echoServer(t), Cert: c.cert, Key: c.key}}})
		cl, reg := startTunnel(t, Config{Listeners: []ListenerConfig{{Mode: ModeClient, Listen: "127.0.0.1:0", Target: srv.Listeners()[0].Addr().String(),
			CA: p.caPath, ServerName: "ignored.example", Verify: ACL{URI: []string{"spiffe://example.org/ns/db/sa/*"}}}}})
		conn, err := dialPlain(cl.Listeners()[0].Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := roundTrip(conn, "ping")
		conn.Close()
		if c.ok && (err != nil || s != "ping") {
			t.Fatalf("pinned identity refused: %q %v", s, err)
		}
		if !c.ok {
			if err == nil {
				t.Fatal("client tunnel talked to a server with the wrong identity")
			}
			waitMetric(t, reg, "tls_handshake_errors_total", map[string]string{"role": "client", "reason": "acl_denied"}, 1)
		}
	}
}

// TestTwoTunnelsShareRegistry: a second tunnel started on the same registry
// (a restart in-process, or two tunnels in one program) counts into the
// collectors already registered instead of into unregistered copies.
func TestTwoTunnelsShareRegistry(t *testing.T) {
	p := newPKI(t)
	reg := prometheus.NewRegistry()
	backend := echoServer(t)
	var tus []*Tunnel
	for _, name := range []string{"one", "two"} {
		l := serverListener(t, p, backend)
		l.Name = name
		tu, err := Start(t.Context(), Config{Listeners: []ListenerConfig{l}}, Options{Registerer: reg, Logger: testLogger(t), NoWatch: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tu.Close() })
		tus = append(tus, tu)
	}
	base := &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal"}
	for _, tu := range tus {
		c, err := dialTLS(tu.Listeners()[0].Addr().String(), base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := roundTrip(c, "x"); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	for _, name := range []string{"one", "two"} {
		waitFor(t, name+" counted", func() bool {
			return metricValue(t, reg, MetricConnectionsTotal, map[string]string{"listener": name, "result": "proxied"}) == 1
		})
	}
}

// TestKeyPermissionWarning: a key readable by others, or by a group the
// tunnel is not in, is warned about; one shared only with the tunnel's own
// group (0640 root:pqtls, Kubernetes fsGroup) is not.
func TestKeyPermissionWarning(t *testing.T) {
	p := newPKI(t)
	l := serverListener(t, p, "127.0.0.1:1")
	warned := func() bool {
		t.Helper()
		w, err := Check(Config{Listeners: []ListenerConfig{l}})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(strings.Join(w, "\n"), "readable by group or others")
	}
	for _, c := range []struct {
		mode os.FileMode
		want bool
	}{{0o600, false}, {0o640, false}, {0o604, true}, {0o644, true}} {
		if err := os.Chmod(l.Key, c.mode); err != nil {
			t.Fatal(err)
		}
		if got := warned(); got != c.want {
			t.Errorf("key mode %04o (own group): warned=%v, want %v", c.mode, got, c.want)
		}
	}
	// A group the process is not in.
	other := 54321
	for slices.Contains(mustGroups(t), other) || other == os.Getgid() {
		other++
	}
	if err := os.Chown(l.Key, -1, other); err != nil {
		t.Skipf("cannot chown the key to another group (not root?): %v", err)
	}
	_ = os.Chmod(l.Key, 0o640)
	if !warned() {
		t.Error("key mode 0640 readable by a foreign group: no warning")
	}
}

func mustGroups(t *testing.T) []int {
	g, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestACLDeniedIsLogged: a denied peer's connection line names its identity
// and the reason, so an operator can see who was refused and why.
func TestACLDeniedIsLogged(t *testing.T) {
	p := newPKI(t)
	l := serverListener(t, p, echoServer(t))
	l.CA = p.caPath
	l.Allow = ACL{URI: []string{"spiffe://example.org/ns/prod/sa/api"}}
	tu, _, logs := startJSON(t, Config{Listeners: []ListenerConfig{l}})
	cert, _, _ := p.issue(t, certOpts{cn: "mallory", client: true, uris: []string{"spiffe://example.org/ns/dev/sa/mallory"}})
	if dialRefusal(tu.Listeners()[0].Addr().String(), &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal", Certificates: []tls.Certificate{cert}}) == nil {
		t.Fatal("denied peer got through")
	}
	waitFor(t, "the denied connection's log line", func() bool { return strings.Contains(logs.String(), `"close_reason":"handshake_acl_denied"`) })
	for _, ln := range strings.Split(logs.String(), "\n") {
		if strings.Contains(ln, "handshake_acl_denied") {
			if !strings.Contains(ln, "spiffe://example.org/ns/dev/sa/mallory") || !strings.Contains(ln, `"level":"WARN"`) {
				t.Errorf("denied connection line does not name the peer at warn level: %s", ln)
			}
		}
	}
}

// TestReadyzDoesNotProbeRemoteTarget: a client-mode listener's readiness
// does not open connections to the remote server (each would be a failed
// handshake on the other side), while a server-mode listener's local target
// is checked.
func TestReadyzDoesNotProbeRemoteTarget(t *testing.T) {
	p := newPKI(t)
	remote := listenLocal(t)
	var mu sync.Mutex
	var peers []string // remote addresses of the accepted connections
	testpeer.Serve(t, remote, 0, func(c net.Conn) {
		mu.Lock()
		peers = append(peers, c.RemoteAddr().String())
		mu.Unlock()
	})
	sl := serverListener(t, p, freeAddr(t)) // server-mode target down
	tu, _ := startTunnel(t, Config{Listeners: []ListenerConfig{clientListener(p, remote.Addr().String()), sl}})
	probs := tu.Ready()
	if len(probs) != 1 || !strings.Contains(probs[0], "db: target") {
		t.Fatalf("Ready() = %q, want exactly the server listener's unreachable target", probs)
	}
	// A sentinel connection after Ready: once it is accepted, any probe
	// connection (queued before it) has been too.
	sentinel, err := net.Dial("tcp", remote.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sentinel.Close()
	waitFor(t, "the sentinel connection", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(peers, sentinel.LocalAddr().String())
	})
	mu.Lock()
	defer mu.Unlock()
	if len(peers) != 1 {
		t.Fatalf("readiness opened %d connection(s) to the remote server", len(peers)-1)
	}
}

// TestMaxConnectionsLogged: clients beyond max_connections get no error of
// their own (they wait in the accept queue), so the tunnel logs that the
// limit was reached.
func TestMaxConnectionsLogged(t *testing.T) {
	p := newPKI(t)
	l := serverListener(t, p, echoServer(t))
	l.MaxConnections = 1
	tu, _, logs := startJSON(t, Config{Listeners: []ListenerConfig{l}})
	base := &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal"}
	c, err := dialTLS(tu.Listeners()[0].Addr().String(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := roundTrip(c, "x"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the max_connections warning", func() bool {
		return strings.Contains(logs.String(), `"msg":"tunnel max_connections reached`) && strings.Contains(logs.String(), `"max_connections":1`)
	})
}
