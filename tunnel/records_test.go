package tunnel

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// recordReader keeps every byte read from the socket once recording is on.
type recordReader struct {
	net.Conn
	mu  sync.Mutex
	on  bool
	got bytes.Buffer
}

func (c *recordReader) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if c.on {
		c.got.Write(p[:n])
	}
	c.mu.Unlock()
	return n, err
}

// recordSizes parses TLS record headers from a byte stream.
func recordSizes(t *testing.T, b []byte) []int {
	t.Helper()
	var sizes []int
	for len(b) >= 5 {
		n := int(binary.BigEndian.Uint16(b[3:5]))
		sizes = append(sizes, n)
		if len(b) < 5+n {
			break
		}
		b = b[5+n:]
	}
	return sizes
}

// TestFullRecordsFromFirstByte checks that the server tunnel sends full
// 16 KiB records from the start of a connection (DynamicRecordSizingDisabled):
// with crypto/tls's default dynamic record sizing the first 64 KiB leave in
// records of 1.2-12 KB.
func TestFullRecordsFromFirstByte(t *testing.T) {
	p := newPKI(t)
	srv, _ := startTunnel(t, Config{Listeners: []ListenerConfig{serverListener(t, p, echoServer(t))}})
	raw, err := net.Dial("tcp", srv.Listeners()[0].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordReader{Conn: raw}
	c := tls.Client(rec, &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal", DynamicRecordSizingDisabled: true})
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	rec.on = true
	rec.mu.Unlock()
	payload := make([]byte, 64<<10)
	go func() { _, _ = c.Write(payload) }()
	if _, err := io.ReadFull(c, make([]byte, len(payload))); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	sizes := recordSizes(t, rec.got.Bytes())
	rec.mu.Unlock()
	largest := 0
	for _, n := range sizes {
		largest = max(largest, n)
	}
	// 16384 bytes of payload + content type + 16-byte AEAD tag.
	if largest < 16384+17 {
		t.Fatalf("largest record of the first 64 KiB echoed: %d bytes (records %v), want full 16 KiB records", largest, sizes)
	}
}

// TestSNIDoesNotPinClientHello checks that the SNI noted for the log is a
// copy: a pointer into the ClientHelloInfo kept the whole ClientHello
// (~1.7 KiB, its slices alias the raw message) for the connection's life.
func TestSNIDoesNotPinClientHello(t *testing.T) {
	cfg := &tls.Config{}
	onHello(cfg, nil)
	sc := &sockConn{}
	hello := &tls.ClientHelloInfo{ServerName: "db.internal", Conn: sc}
	if _, err := cfg.GetConfigForClient(hello); err != nil {
		t.Fatal(err)
	}
	got := sc.sni.Load()
	if got == nil || *got != "db.internal" {
		t.Fatalf("SNI not noted: %v", got)
	}
	if got == &hello.ServerName {
		t.Fatal("the noted SNI points into the ClientHelloInfo")
	}
}

// TestCloseNotifyAfterQuietDirection: the target sends one byte, stays
// quiet (that direction idle longer than the idle timeout while the client
// keeps the connection busy), then half-closes. The tunnel must still send
// the client a close_notify (the last TLS record, 19 bytes of ciphertext)
// rather than a bare FIN that strict TLS stacks report as a truncation.
func TestCloseNotifyAfterQuietDirection(t *testing.T) {
	p := newPKI(t)
	ln := listenLocal(t)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write([]byte("x"))
		_, _ = io.ReadFull(c, make([]byte, 14)) // the client's ticks
		_ = c.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, c)
	}()
	tu, _, base := serverOnly(t, p, ln.Addr().String(), func(l *ListenerConfig) { l.IdleTimeout = Duration(300 * time.Millisecond) })
	raw, err := net.Dial("tcp", tu.Listeners()[0].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordReader{Conn: raw, on: true}
	c := tls.Client(rec, base)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 14; i++ { // 700 ms of traffic towards the target only
		if _, err := c.Write([]byte("t")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "x" {
		t.Fatalf("read %q, %v; want %q then EOF", b, err, "x")
	}
	rec.mu.Lock()
	sizes := recordSizes(t, rec.got.Bytes())
	rec.mu.Unlock()
	last := sizes[len(sizes)-1]
	if last != 19 {
		t.Fatalf("last TLS record from the tunnel has %d bytes of ciphertext, want 19 (close_notify)", last)
	}
	_ = c.CloseWrite()
}
