package tunnel

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricsHealthAndConnectionLog(t *testing.T) {
	p := newPKI(t)
	l := serverListener(t, p, echoServer(t))
	_ = os.Chmod(l.Key, 0o644) // group/world readable: a warning
	var logs logBuffer
	reg := prometheus.NewRegistry()
	tu, err := Start(t.Context(), Config{Listeners: []ListenerConfig{l}, Metrics: "127.0.0.1:0"},
		Options{Registerer: reg, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer tu.Close()
	c, err := dialTLS(tu.Listeners()[0].Addr().String(), &tls.Config{RootCAs: p.pool(), ServerName: "db.internal"})
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
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
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
			waitFor(t, "acl_denied on the client side", func() bool {
				return metricValue(t, reg, "tls_handshake_errors_total", map[string]string{"role": "client", "reason": "acl_denied"}) == 1
			})
		}
	}
}
