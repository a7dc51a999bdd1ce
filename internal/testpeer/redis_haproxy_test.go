package testpeer

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

// redisPing sends PING over c and returns the first reply line.
func redisPing(c net.Conn) (string, error) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestInteropRedisTLS(t *testing.T) {
	ca := testpki.NewCA(t)
	r := Redis(t, RedisOptions{ClientCA: ca})
	c, err := tls.Dial("tcp", r.Addr, r.CA.ClientTLS("localhost", ca.Client(t, testpki.CertOptions{})))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if line, err := redisPing(c); err != nil || line != "+PONG\r\n" {
		t.Fatalf("PING: %q %v", line, err)
	}
	if g := c.ConnectionState().CurveID; g != tls.X25519 {
		t.Errorf("redis (OpenSSL 3.0) negotiated %v, want X25519", g)
	}
	// Without a client certificate Redis refuses.
	c2, err := tls.Dial("tcp", r.Addr, r.CA.ClientTLS("localhost", nil))
	if err == nil {
		defer c2.Close()
		if line, err := redisPing(c2); err == nil {
			t.Errorf("redis answered %q without a client certificate", line)
		}
	}
}

func TestInteropRedisPlain(t *testing.T) {
	r := Redis(t, RedisOptions{NoTLS: true})
	c, err := net.DialTimeout("tcp", r.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if line, err := redisPing(c); err != nil || line != "+PONG\r\n" {
		t.Fatalf("PING: %q %v", line, err)
	}
}

func TestInteropHAProxy(t *testing.T) {
	h := HAProxy(t, HAProxyOptions{Curves: "P-256"})
	tr := &http.Transport{TLSClientConfig: h.CA.ClientTLS("localhost", nil), TLSHandshakeTimeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + h.Addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello from haproxy\n" || resp.TLS.CurveID != tls.CurveP256 {
		t.Errorf("body %q group %v", body, resp.TLS.CurveID)
	}
}

func TestInteropHAProxyTCPToTLSBackend(t *testing.T) {
	ca := testpki.NewCA(t)
	addr, states := goServer(t, ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false))
	h := HAProxy(t, HAProxyOptions{TCP: true, Backend: addr, BackendSSL: true, BackendCA: ca})
	_, body, err := goDial(t, h.Addr, h.CA.ClientTLS("localhost", nil))
	if err != nil || body != "hello from go\n" {
		t.Fatalf("through haproxy: %q %v", body, err)
	}
	// HAProxy as a TLS client (OpenSSL 3.0) is classical.
	if st := <-states; st.CurveID != tls.X25519 {
		t.Errorf("haproxy as client negotiated %v", st.CurveID)
	}
}
