package tunnel

// The connection path below the TLS layer: target dial, the copy loop's
// reads and buffers, and that finished connections leave nothing behind.

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tlsPair returns a handshaken TLS connection pair over loopback TCP, the
// server side on a sockConn (newEndpoint switches it to non-blocking like
// the copy loop's).
func tlsPair(t *testing.T) (client *tls.Conn, server *tls.Conn, rc *sockConn) {
	t.Helper()
	p := newPKI(t)
	cert, _, _ := p.issue(t, certOpts{cn: "db.internal", dns: []string{"db.internal"}, name: "server"})
	ln := listenLocal(t)
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := ln.Accept(); ch <- res{c, err} }()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	rc = newSockConn(r.c)
	server = tls.Server(rc, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	client = tls.Client(raw, &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal", DynamicRecordSizingDisabled: true})
	hs := make(chan error, 1)
	go func() { hs <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-hs; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server, rc
}

// queued waits (bounded by count, not by a clock) until the socket under rc
// holds at least n bytes.
func queued(t *testing.T, rc *sockConn, n int) {
	t.Helper()
	for range 100000 {
		var q int
		_ = rc.sc.Control(func(fd uintptr) {
			q, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
		})
		if q >= n {
			return
		}
		runtime.Gosched()
	}
	t.Fatalf("the socket never held %d bytes", n)
}

// TestReadAheadOneSyscallPerBatch checks that four full records the kernel
// already holds cost one read system call, not one per record, and arrive
// as one gathered payload.
func TestReadAheadOneSyscallPerBatch(t *testing.T) {
	client, server, rc := tlsPair(t)
	e := newEndpoint(server, server.NetConn(), server, rc)
	if e.bufs == nil {
		t.Fatal("crypto/tls read buffers not found")
	}
	payload := make([]byte, 4*16384)
	for i := range payload {
		payload[i] = byte(i)
	}
	if _, err := client.Write(payload); err != nil {
		t.Fatal(err)
	}
	queued(t, rc, len(payload)+4*22)
	rc.reads = 0
	bp, n, err := e.readTLS()
	if err != nil {
		t.Fatal(err)
	}
	if string((*bp)[:n]) != string(payload) {
		t.Fatalf("got %d bytes, want the %d-byte payload in one piece", n, len(payload))
	}
	if rc.reads != 1 {
		t.Errorf("%d read system calls for 4 queued records, want 1", rc.reads)
	}
	if e.bufs.buffered() {
		t.Error("crypto/tls still holds input after the batch was read")
	}
}

// TestIdleReleasesTLSBuffers checks that a connection waiting for data
// holds none of crypto/tls's read buffers (they held ~45 KiB per idle
// connection after 1 MiB had moved) and that the pooled input buffer is
// reused, not reallocated, while data moves.
func TestIdleReleasesTLSBuffers(t *testing.T) {
	client, server, rc := tlsPair(t)
	e := newEndpoint(server, server.NetConn(), server, rc)
	go func() {
		buf := make([]byte, 1<<20)
		_, _ = client.Write(buf)
	}()
	var got int
	for got < 1<<20 {
		bp, n, err := e.readTLS()
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		got += n
		bufPool.Put(bp)
		if c := e.bufs.raw.Cap(); c > 0 && c != rawInputSize {
			t.Fatalf("crypto/tls's input buffer has %d bytes of capacity, want the pooled %d", c, rawInputSize)
		}
	}
	_ = e.raw.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := e.readTLS(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle read: %v, want the deadline", err)
	}
	if c := e.bufs.raw.Cap(); c != 0 {
		t.Errorf("idle connection holds a %d-byte TLS input buffer", c)
	}
	if c := e.bufs.hand.Cap(); c != 0 {
		t.Errorf("idle connection holds a %d-byte handshake buffer", c)
	}
	if e.bufs.input.Size() != 0 {
		t.Error("idle connection's input reader still points into the released buffer")
	}
	// Data after the idle period is read normally.
	if _, err := client.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	_ = e.raw.SetReadDeadline(time.Time{})
	bp, n, err := e.readTLS()
	if err != nil || string((*bp)[:n]) != "again" {
		t.Fatalf("after idle: %q, %v", (*bp)[:n], err)
	}
}

// TestTLSBuffersFound fails when a Go release renames or retypes the
// crypto/tls fields the copy loop releases (tlsbuf.go): the tunnel would
// still work, with blocking reads and a larger idle footprint.
func TestTLSBuffersFound(t *testing.T) {
	if !tlsFields.ok {
		t.Fatalf("crypto/tls.Conn has no rawInput/input/hand fields of the expected types (%+v)", tlsFields)
	}
}

// TestWaitReadableKeepsEOF checks that an EOF met while waiting reaches
// crypto/tls (and the copy loop) through the next Read, and that close_notify
// before it still reads as a clean EOF.
func TestWaitReadableKeepsEOF(t *testing.T) {
	client, server, rc := tlsPair(t)
	e := newEndpoint(server, server.NetConn(), server, rc)
	if _, err := client.Write([]byte("half")); err != nil {
		t.Fatal(err)
	}
	if err := client.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = client.NetConn().(*net.TCPConn).CloseWrite()
	var got []byte
	var err error
	for range 1000 {
		var bp *[]byte
		var n int
		bp, n, err = e.readTLS()
		if bp != nil {
			got = append(got, (*bp)[:n]...)
		}
		if err != nil {
			break
		}
	}
	if string(got) != "half" || err != io.EOF {
		t.Fatalf("read %q then %v, want \"half\" then EOF", got, err)
	}
	e.bufs.park()
	if e.bufs.raw.Cap() != 0 {
		t.Error("TLS input buffer held after EOF")
	}
}

func TestLoopbackTarget(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:5432": true, "127.8.0.2:80": true, "[::1]:443": true, "localhost:6379": true,
		"10.0.0.5:5432": false, "db.internal:5432": false, "[2001:db8::1]:443": false, "no-port": false,
	} {
		if got := loopbackTarget("tcp", addr); got != want {
			t.Errorf("loopbackTarget(tcp, %q) = %v, want %v", addr, got, want)
		}
	}
	if loopbackTarget("unix", "/run/app.sock") {
		t.Error("loopbackTarget(unix, /run/app.sock) = true, want false")
	}
}

// TestDialTargetLoopbackNoKeepalive checks that a loopback target socket
// has no TCP keepalive (Go's dialer enables it by default).
func TestDialTargetLoopbackNoKeepalive(t *testing.T) {
	ln := listenLocal(t)
	c, err := dialTarget("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var on int
	var gerr error
	_ = sc.Control(func(fd uintptr) { on, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	if on != 0 {
		t.Fatal("loopback target socket has SO_KEEPALIVE on")
	}
}

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
