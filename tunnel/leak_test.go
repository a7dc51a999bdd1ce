package tunnel

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// TestNoLeakPerConnection runs connections that end every way a connection
// can end (clean echo, client vanishing mid-stream, half-close, garbage
// instead of a ClientHello, a client that never finishes its handshake,
// backend down) and checks that the tunnel's goroutines and file
// descriptors come back to where they were: nothing is kept per connection.
func TestNoLeakPerConnection(t *testing.T) {
	p := newPKI(t)
	dead := freeAddr(t)
	good := serverListener(t, p, echoServer(t))
	good.HandshakeTimeout = Duration(200 * time.Millisecond)
	down := good
	down.Name, down.Target = "down", dead
	tu, _ := startTunnel(t, Config{Listeners: []ListenerConfig{good, down}})
	addr, downAddr := tu.Listeners()[0].Addr().String(), tu.Listeners()[1].Addr().String()
	tc := &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal"}

	// Warm up once so lazily started runtime goroutines are counted.
	if c, err := dialTLS(addr, tc); err == nil {
		_, _ = roundTrip(c, "warm")
		c.Close()
	}
	waitFor(t, "warm-up connection to end", func() bool { return tu.ActiveConnections() == 0 })
	time.Sleep(50 * time.Millisecond)
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)

	const rounds = 10
	for i := 0; i < rounds; i++ {
		// Clean round trip, then close.
		c, err := dialTLS(addr, tc)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := roundTrip(c, "hello"); err != nil || s != "hello" {
			t.Fatalf("round trip: %q %v", s, err)
		}
		c.Close()
		// Client writes a lot and vanishes without reading.
		if c, err = dialTLS(addr, tc); err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(make([]byte, 256<<10))
		c.NetConn().Close()
		// Half-close: close_notify + FIN, then read the echo to EOF.
		if c, err = dialTLS(addr, tc); err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("half"))
		_ = c.CloseWrite()
		buf := make([]byte, 16)
		n, _ := c.Read(buf)
		if string(buf[:n]) != "half" {
			t.Fatalf("half-close echo %q", buf[:n])
		}
		c.Close()
		// Garbage instead of a ClientHello.
		if pc, err := dialPlain(addr); err == nil {
			_, _ = pc.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
			_, _ = pc.Read(make([]byte, 64))
			pc.Close()
		}
		// Slow loris: connects and says nothing; the tunnel cuts it.
		if pc, err := dialPlain(addr); err == nil {
			_, _ = pc.Read(make([]byte, 1))
			pc.Close()
		}
		// Backend down.
		if c, err := dialTLS(downAddr, tc); err == nil {
			_, _ = c.Read(make([]byte, 1))
			c.Close()
		}
	}
	waitFor(t, "connections to end", func() bool { return tu.ActiveConnections() == 0 })
	// Goroutines and descriptors settle back (allowing a little slack for
	// runtime and test helpers); 6*rounds connections leaking even one
	// goroutine or descriptor each would exceed it.
	waitSettled(t, g0, fd0, 6*rounds)
}

// TestNoLeakPerConnectionClientMode is the same check for client mode:
// plaintext in, TLS out, through a server tunnel to an echo backend, plus a
// remote that refuses connections.
func TestNoLeakPerConnectionClientMode(t *testing.T) {
	p := newPKI(t)
	dead := freeAddr(t)
	srv, _ := startTunnel(t, Config{Listeners: []ListenerConfig{serverListener(t, p, echoServer(t))}})
	out := clientListener(p, srv.Listeners()[0].Addr().String())
	down := out
	down.Name, down.Target = "down", dead
	cl, _ := startTunnel(t, Config{Listeners: []ListenerConfig{out, down}})
	addr, downAddr := cl.Listeners()[0].Addr().String(), cl.Listeners()[1].Addr().String()

	if c, err := dialPlain(addr); err == nil {
		_, _ = roundTrip(c, "warm")
		c.Close()
	}
	idle := func() bool { return cl.ActiveConnections() == 0 && srv.ActiveConnections() == 0 }
	waitFor(t, "warm-up connection to end", idle)
	time.Sleep(50 * time.Millisecond)
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)

	const rounds = 10
	for i := 0; i < rounds; i++ {
		c, err := dialPlain(addr)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := roundTrip(c, "hello"); err != nil || s != "hello" {
			t.Fatalf("round trip: %q %v", s, err)
		}
		c.Close()
		// Write a lot, then reset without reading.
		if c, err = dialPlain(addr); err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(make([]byte, 256<<10))
		_ = c.(*net.TCPConn).SetLinger(0)
		c.Close()
		// Half-close, read the echo to EOF.
		if c, err = dialPlain(addr); err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("half"))
		_ = c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		if string(b) != "half" {
			t.Fatalf("half-close echo %q", b)
		}
		c.Close()
		// Remote refuses.
		if c, err := dialPlain(downAddr); err == nil {
			_, _ = c.Read(make([]byte, 1))
			c.Close()
		}
	}
	waitFor(t, "connections to end", idle)
	waitSettled(t, g0, fd0, 4*rounds)
}

// waitSettled waits up to 10 s for goroutines and descriptors to settle back
// to within 3 of g0 and fd0 (slack for the runtime and test helpers), and
// fails with every goroutine's stack if they do not; conns is how many
// connections the test made, for the message.
func waitSettled(t *testing.T, g0, fd0, conns int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The echo backend's io.Copy between TCP sockets splices through
		// pipes from a sync.Pool, closed by a finalizer once the pool
		// drops them: collect, or they count as descriptors.
		runtime.GC()
		g, fd := runtime.NumGoroutine(), openFDs(t)
		if g <= g0+3 && fd <= fd0+3 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("after %d connections: %d goroutines (was %d), %d fds (was %d)\n%s", conns, g, g0, fd, fd0, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
