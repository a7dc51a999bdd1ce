package tunnel

import (
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

// loopbackPair returns both ends of a loopback TCP connection.
func loopbackPair(t *testing.T) (dialed, accepted net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	dialed, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted = <-ch
	if accepted == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { dialed.Close(); accepted.Close() })
	return dialed, accepted
}

// TestPipeEndReleasesTLSBuffers checks that the copy loop of a TLS side
// hands crypto/tls's input buffer back when it ends: a connection that
// closes while data is in flight held the pooled 72 KiB array at EOF, and it
// went to the garbage collector with the connection instead of back to the
// pool (about 7 KiB allocated per handshake-only connection in the
// handshake benchmark, a full array per connection that moved data).
func TestPipeEndReleasesTLSBuffers(t *testing.T) {
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})
	clientRaw, serverRaw := loopbackPair(t)
	rc := newSockConn(serverRaw)
	server := tls.Server(rc, &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS13})
	client := tls.Client(clientRaw, ca.ClientTLS("localhost", nil))
	hs := make(chan error, 1)
	go func() { hs <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-hs; err != nil {
		t.Fatal(err)
	}
	src := newEndpoint(server, serverRaw, server, rc)
	if src.bufs == nil {
		t.Skip("crypto/tls read buffers not found (TestTLSBuffersFound reports it)")
	}
	dstConn, sink := loopbackPair(t)
	received := make(chan int64, 1)
	go func() { n, _ := io.Copy(io.Discard, sink); received <- n }()
	dst := newEndpoint(dstConn, dstConn, nil, nil)

	const size = 1 << 20
	go func() {
		_, _ = client.Write(make([]byte, size))
		_ = client.CloseWrite()
		_ = clientRaw.(*net.TCPConn).CloseWrite()
	}()
	var last atomic.Int64
	if err := pipe(src, dst, time.Minute, &last, func(int) {}); err != nil {
		t.Fatalf("pipe: %v", err)
	}
	if n := <-received; n != size {
		t.Fatalf("target received %d bytes, want %d", n, size)
	}
	if c := src.bufs.raw.Cap(); c != 0 {
		t.Errorf("crypto/tls still holds a %d-byte input buffer after the copy loop ended", c)
	}
	if src.bufs.input.Size() != 0 || src.bufs.hand.Cap() != 0 {
		t.Error("crypto/tls's input reader or handshake buffer kept after the copy loop ended")
	}
}
