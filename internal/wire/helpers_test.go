package wire

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"

	"github.com/pqtls/pqtls/internal/testpeer"
)

// testCert returns a certificate for "localhost", 127.0.0.1 and ::1 from a
// fresh test CA (the chain is the leaf alone).
func testCert(t testing.TB) tls.Certificate {
	t.Helper()
	return testpki.NewCA(t).Server(t, testpki.CertOptions{}).TLS
}

// readTLS12Flight reads the messages that follow a TLS 1.2 ServerHello up to
// the ServerKeyExchange and returns the chain of the Certificate message
// (nil if none came before) and the ServerKeyExchange.
func readTLS12Flight(t *testing.T, r *Reader, version uint16) ([]*x509.Certificate, *ServerKeyExchangeECDHE) {
	t.Helper()
	var chain []*x509.Certificate
	for {
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		switch m.HandshakeType {
		case TypeCertificate:
			if chain, err = ParseCertificateChain12(m.Data); err != nil {
				t.Fatal(err)
			}
		case TypeServerKeyExchange:
			ske, err := ParseServerKeyExchangeECDHE(m.Data, version)
			if err != nil {
				t.Fatal(err)
			}
			return chain, ske
		}
	}
}

// goServer is a crypto/tls server on 127.0.0.1 that records the group each
// handshake reached (via GetConfigForClient) and the handshake errors.
type goServer struct {
	ln   net.Listener
	addr string
	mu   sync.Mutex
	errs []error
}

func startGoServer(t testing.TB, cfg *tls.Config) *goServer {
	t.Helper()
	if cfg.Certificates == nil {
		cfg.Certificates = []tls.Certificate{testCert(t)}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &goServer{ln: ln, addr: ln.Addr().String()}
	testpeer.Serve(t, ln, 0, func(c net.Conn) {
		if err := tls.Server(c, cfg).Handshake(); err != nil {
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
		}
	})
	return s
}

func dialTest(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}
