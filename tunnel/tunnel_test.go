package tunnel

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls"
)

// TestPairIntegrity streams data both ways through client tunnel -> server
// tunnel -> echo backend and compares SHA-256 digests: no byte lost or
// reordered, tiny and large writes mixed. 256 MiB each way without -short.
func TestPairIntegrity(t *testing.T) {
	srv, cl, sreg, creg := mtlsPair(t, echoServer(t), "spiffe://example.org/ns/app/sa/*", "spiffe://example.org/ns/app/sa/web")

	size := 256 << 20
	if testing.Short() {
		size = 16 << 20
	}
	c, err := net.Dial("tcp", cl.Listeners()[0].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	sent := sha256.New()
	errc := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(1, 2))
		buf := make([]byte, 256<<10)
		for left := size; left > 0; {
			// Mix tiny and large writes.
			n := min(left, []int{1, 7, 100, 1400, 16384, 65536, 256 << 10}[rng.IntN(7)])
			for i := range buf[:n] {
				buf[i] = byte(rng.Uint32())
			}
			sent.Write(buf[:n])
			if _, err := c.Write(buf[:n]); err != nil {
				errc <- err
				return
			}
			left -= n
		}
		errc <- c.(*net.TCPConn).CloseWrite()
	}()
	got := sha256.New()
	n, err := io.Copy(got, c)
	if err != nil {
		t.Fatalf("read after %d bytes: %v", n, err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	if n != int64(size) {
		t.Fatalf("echoed %d bytes, sent %d", n, size)
	}
	if !bytes.Equal(sent.Sum(nil), got.Sum(nil)) {
		t.Fatal("SHA-256 of echoed stream differs from what was sent")
	}
	waitFor(t, "both tunnels to finish the connection", func() bool { return srv.ActiveConnections() == 0 && cl.ActiveConnections() == 0 })
	if v := metricValue(t, sreg, pqtls.MetricGroupTotal, map[string]string{"role": "server", "group": "x25519_mlkem768"}); v != 1 {
		t.Errorf("server tunnel x25519_mlkem768 handshakes = %v, want 1", v)
	}
	if v := metricValue(t, creg, pqtls.MetricGroupTotal, map[string]string{"role": "client", "group": "x25519_mlkem768"}); v != 1 {
		t.Errorf("client tunnel x25519_mlkem768 handshakes = %v, want 1", v)
	}
	// The seed's telemetry: the negotiated cipher suite, per role (issue 13
	// item 10), counted once per handshake on each side.
	for role, reg := range map[string]*prometheus.Registry{"server": sreg, "client": creg} {
		// The suite depends on the CPU (AES-GCM with AES instructions,
		// else ChaCha20): sum over the TLS 1.3 suites Go offers.
		var v float64
		for _, cs := range tls.CipherSuites() {
			v += metricValue(t, reg, pqtls.MetricCipherTotal, map[string]string{"role": role, "version": "TLS 1.3", "cipher": cs.Name})
		}
		if v != 1 {
			t.Errorf("%s tunnel tls_handshake_cipher_total{version=TLS 1.3, cipher=<a TLS 1.3 suite>} = %v, want 1", role, v)
		}
	}
	for _, dir := range []string{DirectionToTarget, DirectionFromTarget} {
		if v := metricValue(t, sreg, MetricBytesTotal, map[string]string{"direction": dir}); v != float64(size) {
			t.Errorf("server %s bytes = %v, want %d", dir, v, size)
		}
	}
}

// TestParseConfigStrict: unknown keys, duplicate keys and a second document
// are errors naming the line; nothing is silently ignored.
func TestParseConfigStrict(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown key", "listeners:\n  - mode: server\n    lisen: x\n", "t.yaml:3: unknown field \"lisen\" (valid: "},
		{"duplicate key", "listeners:\n  - mode: server\n    mode: client\n", "t.yaml:3: "},
		{"second document", "listeners:\n  - mode: server\n---\nlisteners:\n  - mode: client\n", "t.yaml:3: "},
	} {
		_, err := ParseConfig([]byte(c.yaml), "t.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := ParseConfig([]byte("listeners:\n  - mode: server\n"), "t.yaml"); err != nil {
		t.Errorf("one document: %v", err)
	}
}
