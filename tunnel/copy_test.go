package tunnel

import (
	"crypto/tls"
	"golang.org/x/sys/unix"
	"io"
	"net"
	"runtime"
	"testing"
)

// tlsPair returns a handshaken TLS connection pair over loopback TCP, the
// server side on a sockConn switched to non-blocking like the copy loop's.
func tlsPair(t *testing.T) (client *tls.Conn, server *tls.Conn, rc *sockConn) {
	t.Helper()
	p := newPKI(t)
	cert, _, _ := p.issue(t, certOpts{cn: "db.internal", dns: []string{"db.internal"}, name: "server"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
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
	client = tls.Client(raw, &tls.Config{RootCAs: p.pool(), ServerName: "db.internal", DynamicRecordSizingDisabled: true})
	hs := make(chan error, 1)
	go func() { hs <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-hs; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	rc.nonblock = true
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
// already holds cost one read system call, not one per record.
func TestReadAheadOneSyscallPerBatch(t *testing.T) {
	client, server, rc := tlsPair(t)
	payload := make([]byte, 4*16384)
	for i := range payload {
		payload[i] = byte(i)
	}
	if _, err := client.Write(payload); err != nil {
		t.Fatal(err)
	}
	queued(t, rc, len(payload)+4*22)
	got := make([]byte, 0, len(payload))
	buf := make([]byte, bufSize)
	for len(got) < len(payload) {
		n, err := server.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
	}
	if string(got) != string(payload) {
		t.Fatal("payload corrupted")
	}
	if rc.reads != 1 {
		t.Errorf("%d read system calls for 4 queued records, want 1", rc.reads)
	}
	if rc.rbuf != nil {
		t.Error("read-ahead buffer still held after it was drained")
	}
	// Nothing left: a would-block, not a stall or an error.
	if _, err := server.Read(buf); err != errWouldBlock {
		t.Fatalf("empty socket: %v, want errWouldBlock", err)
	}
}

// TestWaitReadableKeepsEOF checks that an EOF met while waiting reaches
// crypto/tls (and the copy loop) through the next Read, and that close_notify
// before it still reads as a clean EOF.
func TestWaitReadableKeepsEOF(t *testing.T) {
	client, server, rc := tlsPair(t)
	e := &endpoint{rc: rc}
	if _, err := client.Write([]byte("half")); err != nil {
		t.Fatal(err)
	}
	if err := client.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = client.NetConn().(*net.TCPConn).CloseWrite()
	var got []byte
	buf := make([]byte, 64)
	for range 1000 {
		n, err := server.Read(buf)
		got = append(got, buf[:n]...)
		if err == errWouldBlock {
			if err := e.waitReadable(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(got) != "half" {
		t.Fatalf("read %q, want \"half\" then EOF", got)
	}
	if rc.rbuf != nil {
		t.Error("read-ahead buffer held after EOF")
	}
}
