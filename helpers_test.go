package pqtls

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

// selfSigned returns a server certificate for localhost and 127.0.0.1 and
// a pool that trusts its CA.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	ca := testpki.NewCA(t)
	return ca.Server(t, testpki.CertOptions{}).TLS, ca.Pool()
}

// defaultServer returns a default-policy ServerConfig serving a fresh
// localhost certificate, and a pool that trusts it.
func defaultServer(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	cert, pool := selfSigned(t)
	cfg, err := ServerConfig(Options{Base: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, pool
}

// loopbackHandshake runs one handshake between server and client configs
// over loopback TCP (10 s deadlines) and returns the client's connection
// state and both sides' errors.
func loopbackHandshake(t testing.TB, server, client *tls.Config) (cs tls.ConnectionState, clientErr, serverErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		errc <- tls.Server(c, server).Handshake()
	}()
	raw, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(raw, client)
	clientErr = c.Handshake()
	if clientErr != nil {
		raw.Close() // unblock a server still waiting for the client's flight
	}
	return c.ConnectionState(), clientErr, <-errc
}

// pipeHandshake runs a handshake over loopback and returns the client's
// connection state. It fails the test on a handshake error.
func pipeHandshake(t testing.TB, server, client *tls.Config) tls.ConnectionState {
	t.Helper()
	cs, cerr, serr := loopbackHandshake(t, server, client)
	if cerr != nil {
		t.Fatalf("client handshake: %v", cerr)
	}
	if serr != nil {
		t.Fatalf("server handshake: %v", serr)
	}
	return cs
}

func poolOf(v any) *x509.CertPool {
	p, _ := v.(*x509.CertPool)
	return p
}
