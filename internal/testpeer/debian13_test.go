package testpeer

import (
	"crypto/tls"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

// TestInteropDebian13Versions pins the versions docs/TESTING.md records: the
// suite is pinned to trixie, so a change here is a tree rebuilt from a
// different point release.
func TestInteropDebian13Versions(t *testing.T) {
	d := Deb13(t)
	v := d.Versions(t)
	for name, want := range map[string]string{
		"nginx":        "nginx version: nginx/1.26.",
		"haproxy":      "HAProxy version 3.0.",
		"curl":         "curl 8.14.",
		"openssl":      "OpenSSL 3.5.",
		"postgres":     "postgres (PostgreSQL) 17.",
		"redis-server": "Redis server v=",
	} {
		if !strings.HasPrefix(v[name], want) {
			t.Errorf("%s: %q, want prefix %q", name, v[name], want)
		}
		t.Logf("%s: %s", name, v[name])
	}
	if !strings.Contains(v["curl"], "OpenSSL/3.5.") {
		t.Errorf("curl does not link OpenSSL 3.5: %s", v["curl"])
	}
}

// goGroup connects with Go's client offering prefs and returns the group.
func goGroup(t *testing.T, addr string, ca *testpki.CA, prefs ...tls.CurveID) (tls.CurveID, error) {
	t.Helper()
	cfg := ca.ClientTLS("localhost", nil)
	cfg.CurvePreferences = prefs
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.ConnectionState().CurveID, nil
}

// TestInteropDebian13Peers starts every peer of the tree and checks, with
// OpenSSL's own s_client and with Go, that each one is hybrid by default.
func TestInteropDebian13Peers(t *testing.T) {
	d := Deb13(t)
	n := d.Nginx(t, NginxOptions{})
	h := d.HAProxy(t, HAProxyOptions{})
	s := d.OpenSSLServer(t, OpenSSLServerOptions{})
	r := d.Redis(t, RedisOptions{})
	for _, p := range []struct {
		name, addr string
		ca         *testpki.CA
	}{{"nginx", n.Addr, n.CA}, {"haproxy", h.Addr, h.CA}, {"s_server", s.Addr, s.CA}, {"redis", r.Addr, r.CA}} {
		g, err := d.OpenSSLClient(t, p.addr, "", p.ca)
		if err != nil || g != "X25519MLKEM768" {
			t.Errorf("%s: s_client (OpenSSL default groups) negotiated %q, %v; want X25519MLKEM768", p.name, g, err)
		}
		if id, err := goGroup(t, p.addr, p.ca, tls.X25519MLKEM768, tls.X25519); err != nil || id != tls.X25519MLKEM768 {
			t.Errorf("%s: Go client negotiated %v, %v; want X25519MLKEM768", p.name, id, err)
		}
	}
	// curl 8.14 as a client of nginx: its body comes back.
	body, err := d.Curl(t, "https://localhost:"+strconv.Itoa(n.Port)+"/", "X25519MLKEM768", n.CA)
	if err != nil || body != "hello from nginx\n" {
		t.Errorf("curl: %q %v", body, err)
	}
	// Go's HTTP client against HAProxy 3.0 in http mode.
	b, st := httpsGet(t, h.CA, "https://"+h.Addr+"/")
	if b != "hello from haproxy\n" || st.CurveID != tls.X25519MLKEM768 {
		t.Errorf("haproxy: %q over %v", b, st.CurveID)
	}
}

// TestInteropDebian13Postgres starts PostgreSQL 17 with TLS and connects
// via SSLRequest: OpenSSL 3.5 does not make it hybrid (ssl_ecdh_curve is one
// curve, default prime256v1).
func TestInteropDebian13Postgres(t *testing.T) {
	d := Deb13(t)
	pg := d.Postgres(t, PostgresOptions{SSL: true})
	if g := pg.Handshake(t).CurveID; g != tls.CurveP256 {
		t.Errorf("postgres 17 negotiated %v, want P-256 (ssl_ecdh_curve default prime256v1)", g)
	}
}

// deb13LogGroups is every group the log test negotiates, as OpenSSL names
// it (curl --curves and the servers' lists), with what nginx's $ssl_curve
// and HAProxy's %[ssl_fc_curve] log for it. Measured on nginx 1.26.3 and
// HAProxy 3.0.11 with OpenSSL 3.5.9: nginx prints groups OpenSSL has no
// NID for in hex; HAProxy prints OpenSSL's group name, upper-cased.
var deb13LogGroups = []struct{ group, nginx, haproxy string }{
	{"X25519MLKEM768", "0x11ec", "X25519MLKEM768"},
	{"SecP256r1MLKEM768", "0x11eb", "SECP256R1MLKEM768"},
	{"SecP384r1MLKEM1024", "0x11ed", "SECP384R1MLKEM1024"},
	{"MLKEM768", "0x0201", "MLKEM768"},
	{"X25519", "X25519", "X25519"},
	{"prime256v1", "prime256v1", "SECP256R1"},
	{"secp384r1", "secp384r1", "SECP384R1"},
}

// TestInteropDeb13ServerLogs records what nginx 1.26 ($ssl_curve,
// $ssl_curves) and HAProxy 3.0 (%[ssl_fc_curve]) log for each group, one
// curl request per group offering only that group (docs/PLAYBOOK.md has the
// table).
func TestInteropDeb13ServerLogs(t *testing.T) {
	d := Deb13(t)
	var names []string
	for _, g := range deb13LogGroups {
		names = append(names, g.group)
	}
	all := strings.Join(names, ":")
	n := d.Nginx(t, NginxOptions{ECDHCurve: all, Protocols: "TLSv1.3",
		HTTPExtra: "  log_format curves '$ssl_protocol|$ssl_curve|$ssl_curves';\n  access_log curves.log curves;"})
	h := d.HAProxy(t, HAProxyOptions{Curves: all, MinVersion: "TLSv1.3", LogFormat: "%[ssl_fc_protocol]|%[ssl_fc_curve]"})
	var wantN, wantH []string
	for _, g := range deb13LogGroups {
		for _, p := range []struct {
			name, port string
			ca         *testpki.CA
		}{{"nginx", strconv.Itoa(n.Port), n.CA}, {"haproxy", strconv.Itoa(h.Port), h.CA}} {
			if _, err := d.Curl(t, "https://localhost:"+p.port+"/", g.group, p.ca); err != nil {
				t.Errorf("%s %s: curl: %v", p.name, g.group, err)
			}
		}
		// $ssl_curves (the client's list) is the one group offered.
		wantN = append(wantN, "TLSv1.3|"+g.nginx+"|"+g.nginx)
		wantH = append(wantH, "TLSv1.3|"+g.haproxy)
	}
	// curl's default offer: $ssl_curves lists it, hybrid first.
	if _, err := d.Curl(t, "https://localhost:"+strconv.Itoa(n.Port)+"/", "", n.CA); err != nil {
		t.Fatal(err)
	}
	nlog, _ := os.ReadFile(n.Dir + "/curves.log")
	lines := strings.Split(strings.TrimSpace(string(nlog)), "\n")
	if len(lines) != len(wantN)+1 || !slices.Equal(lines[:len(wantN)], wantN) {
		t.Errorf("nginx $ssl_curve log:\n%s\nwant:\n%s", nlog, strings.Join(wantN, "\n"))
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "TLSv1.3|0x11ec|0x11ec:X25519:") {
		t.Errorf("nginx, curl default groups: %q, want 0x11ec selected and first in $ssl_curves", last)
	}
	var hl []string
	for _, l := range strings.Split(h.Log(), "\n") {
		if strings.HasPrefix(l, "TLSv1.3|") {
			hl = append(hl, l)
		}
	}
	if !slices.Equal(hl, wantH) {
		t.Errorf("haproxy %%[ssl_fc_curve] log:\n%s\nwant:\n%s", h.Log(), strings.Join(wantH, "\n"))
	}
	t.Logf("nginx log:\n%s", nlog)
}

// TestInteropDeb13PostgresX25519Refused: PostgreSQL 17's ssl_ecdh_curve
// names one EC curve (OBJ_sn2nid + EC_KEY_new_by_curve_name): X25519 and
// X25519MLKEM768 make the server refuse to start, each with its own FATAL
// line. No setting makes it hybrid.
func TestInteropDeb13PostgresX25519Refused(t *testing.T) {
	d := Deb13(t)
	uid, gid, err := d.user("postgres")
	if err != nil {
		t.Fatal(err)
	}
	for curve, fatal := range map[string]string{
		"X25519":         "FATAL:  ECDH: could not create key",
		"X25519MLKEM768": "FATAL:  ECDH: unrecognized curve name: X25519MLKEM768",
	} {
		p, pg := d.postgresInit(t, uid, gid)
		cert := testpki.NewCA(t).Server(t, testpki.CertOptions{})
		for name, data := range map[string][]byte{"server.crt": cert.CertPEM, "server.key": cert.KeyPEM} {
			path := p.SocketDir + "/" + name
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(path, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		out, err := runArgv(RunTimeout, pg("postgres", "-D", p.DataDir, "-k", p.SocketDir, "-c", "listen_addresses=", "-c", "ssl=on",
			"-c", "ssl_cert_file="+p.SocketDir+"/server.crt", "-c", "ssl_key_file="+p.SocketDir+"/server.key", "-c", "ssl_ecdh_curve="+curve))
		if err == nil || !strings.Contains(err.Error(), fatal) {
			t.Errorf("ssl_ecdh_curve=%s: postgres 17 %v %s, want %q", curve, err, out, fatal)
		}
	}
}
