package tunnel

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
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
