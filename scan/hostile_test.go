package scan

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestHostileServerEndlessChangeCipherSpec replays the hardening review's
// attack: a server that completes the default client's handshake, then
// answers every crafted ClientHello with change_cipher_spec records
// without end. The crafted-hello reader stops at its cap (2 records), so
// the server never gets to write its whole flood; before the cap every
// probe read the 1.2 MB to the end (or to its timeout, here one hour).
func TestHostileServerEndlessChangeCipherSpec(t *testing.T) {
	const perConn = 200_000 // 1.2 MB of CCS records offered per connection
	cert := newTestCert(t)
	var conns, floods, fullFloods atomic.Int64
	addr := listen(t, func(c net.Conn) {
		defer c.Close()
		if conns.Add(1) == 1 {
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert.tls}})
			tc.SetDeadline(time.Now().Add(5 * time.Second))
			if tc.Handshake() == nil {
				io.Copy(io.Discard, tc)
			}
			return
		}
		floods.Add(1)
		// A small fixed send buffer (no autotuning): with the default, the
		// kernel can take the whole 1.2 MB before the probe has read its 2
		// records and closed, and the flood would count as read.
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetWriteBuffer(16 << 10)
		}
		buf := make([]byte, 4096)
		c.Read(buf)
		rec := []byte{20, 3, 3, 0, 1, 1}
		batch := make([]byte, 0, 600)
		for range 100 {
			batch = append(batch, rec...)
		}
		for i := 0; i < perConn/100; i++ {
			if _, err := c.Write(batch); err != nil {
				return
			}
		}
		fullFloods.Add(1)
	})
	r, err := ScanOne(context.Background(), target(t, addr), Options{Enumerate: true, Timeout: time.Hour, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if floods.Load() == 0 || fullFloods.Load() > 0 {
		t.Errorf("%d of %d crafted probes read the whole flood of %d records", fullFloods.Load(), floods.Load(), perConn)
	}
	t.Logf("verdict %s (%s), %d connections, %d flooded", r.Verdict, r.Reason, r.Connections, floods.Load())
}
