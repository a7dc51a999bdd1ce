//go:build go1.27

package pqtls

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/starttls"
)

// BenchmarkHandshakeAuth measures a full TLS 1.3 handshake (both sides in
// one process, loopback TCP, X25519MLKEM768, no session tickets) with a
// two-certificate chain (leaf + issuing CA, same algorithm) of ECDSA P-256
// (the reference) and ML-DSA-44/65/87, and reports the bytes on the wire
// per handshake (cpu-ns/op: both sides' CPU, steadier than wall time on a
// shared machine): server-B (ServerHello to Finished: the first flight the
// path must carry) and client-B.
func BenchmarkHandshakeAuth(b *testing.B) {
	for _, kt := range []devpki.KeyType{devpki.ECDSAP256, devpki.MLDSA44, devpki.MLDSA65, devpki.MLDSA87} {
		b.Run(string(kt), func(b *testing.B) {
			cert, pool := mldsaChain(b, kt)
			srv := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, SessionTicketsDisabled: true}
			cli := &tls.Config{RootCAs: pool, ServerName: "localhost", SessionTicketsDisabled: true}
			ln := bareServer(b, srv)
			raw, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			cc := &starttls.CountingConn{Conn: raw}
			tc := tls.Client(cc, cli)
			if err := tc.Handshake(); err != nil {
				b.Fatal(err)
			}
			_ = tc.Close()
			b.ResetTimer()
			start := processCPU()
			for i := 0; i < b.N; i++ {
				dialOnce(b, ln.Addr().String(), cli)
			}
			reportCPU(b, start)
			b.ReportMetric(float64(cc.Received), "server-B")
			b.ReportMetric(float64(cc.Sent), "client-B")
		})
	}
}
