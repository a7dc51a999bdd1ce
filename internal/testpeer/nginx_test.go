package testpeer

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

func TestInteropNginxHTTP(t *testing.T) {
	n := Nginx(t, NginxOptions{ECDHCurve: "X25519:prime256v1"})
	// Debian's nginx (OpenSSL 3.0) cannot do hybrids: a Go client offering
	// X25519MLKEM768 first falls back to X25519.
	tr := &http.Transport{TLSClientConfig: n.CA.ClientTLS("localhost", nil), TLSHandshakeTimeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := cl.Get("https://" + n.Addr + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello from nginx\n" || resp.TLS.CurveID != tls.X25519 {
		t.Errorf("body %q group %v", body, resp.TLS.CurveID)
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
