package tunnel

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

// ppGroupTLV is the PP2_SUBTYPE_SSL_GROUP sub-TLV (type 0x26, 2-byte length,
// value) for group, in lower-case hex (HAProxy's "hex" converter prints
// upper case; the test lower-cases its log).
func ppGroupTLV(group string) string {
	return "26" + hex.EncodeToString([]byte{0, byte(len(group))}) + hex.EncodeToString([]byte(group))
}

// TestInteropDeb13ProxyProtocolHAProxy: curl 8.14 (OpenSSL 3.5) -> hybrid
// TLS -> pqtls server tunnel with proxy_protocol -> HAProxy 3.0 `bind ...
// accept-proxy`. HAProxy's own log shows, per connection, the PP2_TYPE_SSL
// TLV (fc_pp_tlv(0x20), hex) with the group sub-TLV 0x26 naming the group
// the client negotiated, and the authority TLV (SNI).
func TestInteropDeb13ProxyProtocolHAProxy(t *testing.T) {
	d := testpeer.Deb13(t)
	h := d.HAProxy(t, testpeer.HAProxyOptions{NoTLS: true, AcceptProxy: true, Body: "hello through pqtls\n",
		LogFormat: "pp|%[fc_rcvd_proxy]|%[fc_pp_tlv(0x20),hex]|%[fc_pp_authority]"})
	cert, files := serverFiles(t)
	srv, reg := startTunnel(t, Config{Listeners: []ListenerConfig{{Name: "pp-in", Mode: ModeServer, Listen: "127.0.0.1:0",
		Target: h.Addr, Cert: files.Cert, Key: files.Key, ProxyProtocol: true}}})
	port := portOf(srv.Listeners()[0].Addr().String())

	// curl's default groups (X25519MLKEM768 first), then X25519 only.
	for _, curves := range []string{"", "X25519"} {
		body, err := d.Curl(t, "https://localhost:"+port+"/", curves, cert.CA)
		if err != nil || body != "hello through pqtls\n" {
			t.Fatalf("curl --curves %q through the tunnel: %q %v", curves, body, err)
		}
	}
	waitFor(t, "HAProxy's two log lines", func() bool { return strings.Count(h.Log(), "pp|") == 2 })
	var lines []string
	for _, l := range strings.Split(h.Log(), "\n") {
		if _, rest, ok := strings.Cut(l, "pp|"); ok {
			lines = append(lines, strings.ToLower(rest))
		}
	}
	t.Logf("HAProxy log:\n%s", h.Log())
	for i, group := range []string{pqtls.GroupName(0x11EC), pqtls.GroupName(0x001D)} {
		f := strings.Split(lines[i], "|")
		if len(f) != 3 || f[0] != "1" || !strings.Contains(f[1], ppGroupTLV(group)) || f[2] != "localhost" {
			t.Errorf("connection %d: HAProxy logged %q, want PROXY received, TLV 0x20 containing %s (group %s), authority localhost", i, lines[i], ppGroupTLV(group), group)
		}
	}
	if got := metricValue(t, reg, pqtls.MetricGroupTotal, map[string]string{"role": "server", "group": "x25519_mlkem768"}); got != 1 {
		t.Errorf("tunnel counted %v x25519_mlkem768 handshakes from curl, want 1", got)
	}
}

// TestInteropDeb13ClientTunnelToNginx: a plaintext HTTP client -> pqtls
// client tunnel (policy require) -> nginx 1.26 / OpenSSL 3.5. nginx's own
// $ssl_curve log shows 0x11ec; against nginx with ssl_ecdh_curve
// X25519:prime256v1 the tunnel refuses (no bytes reach nginx).
func TestInteropDeb13ClientTunnelToNginx(t *testing.T) {
	d := testpeer.Deb13(t)
	logFmt := "  log_format curves '$ssl_protocol|$ssl_curve';\n  access_log curves.log curves;"
	n := d.Nginx(t, testpeer.NginxOptions{HTTPExtra: logFmt})
	classical := d.Nginx(t, testpeer.NginxOptions{HTTPExtra: logFmt, ECDHCurve: "X25519:prime256v1", Cert: n.Cert})
	caFile := n.CA.WriteCertFile(t, t.TempDir())
	cl, reg := startTunnel(t, Config{Listeners: []ListenerConfig{
		{Name: "to-nginx", Mode: ModeClient, Listen: "127.0.0.1:0", Target: n.Addr, ServerName: "localhost", CA: caFile, Policy: "require"},
		{Name: "to-classical", Mode: ModeClient, Listen: "127.0.0.1:0", Target: classical.Addr, ServerName: "localhost", CA: caFile, Policy: "require"},
	}})
	get := func(i int) (string, error) {
		_, body, err := httpGet("http://" + cl.Listeners()[i].Addr().String() + "/")
		return body, err
	}
	if body, err := get(0); err != nil || body != "hello from nginx\n" {
		t.Fatalf("through the client tunnel: %q %v", body, err)
	}
	if body, err := get(1); err == nil {
		t.Errorf("require tunnel reached classical nginx: %q", body)
	}
	waitFor(t, "nginx's log line", func() bool { b, _ := os.ReadFile(n.Dir + "/curves.log"); return len(b) > 0 })
	if b, _ := os.ReadFile(n.Dir + "/curves.log"); strings.TrimSpace(string(b)) != "TLSv1.3|0x11ec" {
		t.Errorf("nginx logged %q, want TLSv1.3|0x11ec", b)
	}
	if b, _ := os.ReadFile(classical.Dir + "/curves.log"); len(b) != 0 {
		t.Errorf("classical nginx served a request: %q", b)
	}
	if got := metricValue(t, reg, pqtls.MetricGroupTotal, map[string]string{"role": "client", "group": "x25519_mlkem768"}); got != 1 {
		t.Errorf("client tunnel counted %v x25519_mlkem768 handshakes, want 1", got)
	}
}
