package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTunnelMetricsFloodKeepsDataPlane replays the flood of issue 11 item 2
// exactly: the real binary under 'ulimit -n 200', 260 idle keep-alive
// connections to its metrics port, then a hybrid handshake on the data port
// must succeed. Before the connection cap, 189 such connections used every
// descriptor and data-port handshakes timed out.
func TestTunnelMetricsFloodKeepsDataPlane(t *testing.T) {
	metrics := freeAddr(t)
	p := runTunnelProcess(t, "ulimit -n 200 &&", "--metrics", metrics)
	p.dial(t).Close() // up
	const flood = 260
	answered := 0
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < flood; i++ {
		c, err := net.DialTimeout("tcp", metrics, 2*time.Second)
		if err != nil {
			continue // refused at the kernel: fine, that is not the tunnel's descriptor
		}
		conns = append(conns, c)
		// One request, then the connection stays idle (keep-alive).
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			continue // closed at accept: over the cap
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			answered++
		}
	}
	t.Logf("%d of %d keep-alive connections served, the rest closed at accept", answered, flood)
	// The cap is min(256, 200/4) = 50 under this limit.
	if answered == 0 || answered > 50 {
		t.Errorf("%d of %d keep-alive connections were served; want between 1 and the cap of 50", answered, flood)
	}
	// The data plane still has descriptors: a hybrid-only client completes
	// its handshake and a round trip through the tunnel.
	cfg := p.cfg.Clone()
	cfg.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 15 * time.Second}, "tcp", p.addr, cfg)
	if err != nil {
		t.Fatalf("hybrid handshake on the data port during the flood: %v\n%s", err, p.stderr.String())
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if got := c.ConnectionState().CurveID; got != tls.X25519MLKEM768 {
		t.Errorf("group %v, want X25519MLKEM768", got)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("round trip during the flood: %q %v", buf, err)
	}
}

// TestTunnelMetricsProcessCollectors: the tunnel's /metrics serves the
// standard process_* and go_* collectors next to its own series, so an
// operator can divide resident memory and descriptors by the connections
// it holds (docs/METRICS.md). One proxied connection is held open while
// scraping.
func TestTunnelMetricsProcessCollectors(t *testing.T) {
	metrics := freeAddr(t)
	p := runTunnelProcess(t, "", "--metrics", metrics)
	c := p.dial(t)
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, line := range strings.Split(scrape(t, metrics), "\n") {
		var name string
		var v float64
		if _, err := fmt.Sscanf(line, "%s %g", &name, &v); err == nil && !strings.HasPrefix(name, "#") {
			values[name] = v
		}
	}
	for name, atLeast := range map[string]float64{
		"process_resident_memory_bytes": 1 << 20,
		"process_open_fds":              4, // listener, metrics listener, the two sockets of the connection
		"go_goroutines":                 3,
		`pqtls_tunnel_connections_active{listener="server-0"}`: 1,
	} {
		if got, ok := values[name]; !ok || got < atLeast {
			t.Errorf("%s = %v (present %v), want at least %v", name, got, ok, atLeast)
		}
	}
}
