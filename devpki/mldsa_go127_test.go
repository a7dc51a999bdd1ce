//go:build go1.27

package devpki

import (
	"crypto/mldsa"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"testing"
	"time"
)

const mldsaBuild = true

// TestMLDSAChain issues an ML-DSA CA, server and client certificate of each
// parameter set, verifies the chain and completes a mutual TLS 1.3
// handshake signed with it.
func TestMLDSAChain(t *testing.T) {
	for kt, want := range map[KeyType]x509.SignatureAlgorithm{
		MLDSA44: x509.MLDSA44, MLDSA65: x509.MLDSA65, MLDSA87: x509.MLDSA87,
	} {
		t.Run(string(kt), func(t *testing.T) {
			ca, err := NewCA("test CA", kt)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := ca.Issue(Request{CommonName: "localhost", Hosts: []string{"localhost", "127.0.0.1"}, Server: true, KeyType: kt})
			if err != nil {
				t.Fatal(err)
			}
			cli, err := ca.Issue(Request{CommonName: "client", Client: true, KeyType: kt})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []*Cert{&ca.Cert, srv, cli} {
				if c.Leaf.SignatureAlgorithm != want || c.Leaf.PublicKeyAlgorithm != x509.MLDSA {
					t.Errorf("%s: signature %v key %v, want %v / ML-DSA", c.Leaf.Subject.CommonName, c.Leaf.SignatureAlgorithm, c.Leaf.PublicKeyAlgorithm, want)
				}
				if _, ok := c.Key.(*mldsa.PrivateKey); !ok {
					t.Errorf("key %T", c.Key)
				}
			}
			if _, err := srv.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "localhost"}); err != nil {
				t.Fatalf("verify server: %v", err)
			}
			handshake(t, ca, srv, cli)
		})
	}
}

func handshake(t *testing.T, ca *CA, srv, cli *Cert) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{srv.TLS()}, ClientCAs: ca.Pool(), ClientAuth: tls.RequireAndVerifyClientCert})
		if err := s.Handshake(); err != nil {
			done <- err
			return
		}
		_, err = io.WriteString(s, "ok")
		done <- err
	}()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(),
		&tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", Certificates: []tls.Certificate{cli.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("read %q: %v", buf, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	if st := c.ConnectionState(); st.Version != tls.VersionTLS13 || len(st.PeerCertificates) == 0 ||
		st.PeerCertificates[0].PublicKeyAlgorithm != x509.MLDSA {
		t.Fatalf("state: version %x peer %v", st.Version, st.PeerCertificates)
	}
}
