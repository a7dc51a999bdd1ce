package testpki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func verify(c *Cert, roots *x509.CertPool, usage x509.ExtKeyUsage, name string) error {
	_, err := c.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

func TestKeyTypes(t *testing.T) {
	for _, kt := range []KeyType{ECDSAP256, RSA2048, Ed25519} {
		t.Run(string(kt), func(t *testing.T) {
			ca := NewCA(t, kt)
			srv := ca.Server(t, CertOptions{Key: kt})
			switch kt {
			case ECDSAP256:
				if _, ok := srv.Key.(*ecdsa.PrivateKey); !ok {
					t.Fatalf("key %T", srv.Key)
				}
			case RSA2048:
				k, ok := srv.Key.(*rsa.PrivateKey)
				if !ok || k.N.BitLen() != 2048 {
					t.Fatalf("key %T", srv.Key)
				}
			case Ed25519:
				if _, ok := srv.Key.(ed25519.PrivateKey); !ok {
					t.Fatalf("key %T", srv.Key)
				}
			}
			if err := verify(srv, ca.Pool(), x509.ExtKeyUsageServerAuth, "localhost"); err != nil {
				t.Fatal(err)
			}
			if _, err := tls.X509KeyPair(srv.CertPEM, srv.KeyPEM); err != nil {
				t.Fatalf("PEM pair: %v", err)
			}
		})
	}
}

func TestServerDefaultsAndNegatives(t *testing.T) {
	ca := NewCA(t)
	srv := ca.Server(t, CertOptions{})
	if got := srv.Leaf.DNSNames; len(got) != 1 || got[0] != "localhost" {
		t.Errorf("DNS SANs %v", got)
	}
	if len(srv.Leaf.IPAddresses) != 2 || !srv.Leaf.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !srv.Leaf.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("IP SANs %v", srv.Leaf.IPAddresses)
	}
	if err := verify(srv, ca.Pool(), x509.ExtKeyUsageServerAuth, "127.0.0.1"); err != nil {
		t.Errorf("IP SAN: %v", err)
	}
	if err := verify(srv, ca.Pool(), x509.ExtKeyUsageServerAuth, "example.com"); err == nil {
		t.Error("verified for a name it does not hold")
	}
	other := NewCA(t)
	if err := verify(srv, other.Pool(), x509.ExtKeyUsageServerAuth, "localhost"); err == nil {
		t.Error("verified against a different CA")
	}
	// Same RSA pool key, different CA: still must not verify.
	r1, r2 := NewCA(t, RSA2048), NewCA(t, RSA2048)
	for i := 0; i < rsaPoolSize; i++ {
		NewCA(t, RSA2048)
	}
	r3 := NewCA(t, RSA2048) // reuses a pooled key
	leaf := r1.Server(t, CertOptions{Key: RSA2048})
	for _, o := range []*CA{r2, r3} {
		if err := verify(leaf, o.Pool(), x509.ExtKeyUsageServerAuth, "localhost"); err == nil {
			t.Error("RSA leaf verified against another CA")
		}
	}
	exp := ca.Server(t, CertOptions{Expired: true})
	if err := verify(exp, ca.Pool(), x509.ExtKeyUsageServerAuth, "localhost"); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired cert: %v", err)
	}
	nyv := ca.Server(t, CertOptions{NotYetValid: true})
	if err := verify(nyv, ca.Pool(), x509.ExtKeyUsageServerAuth, "localhost"); err == nil {
		t.Error("not-yet-valid cert verified")
	}
	cli := ca.Client(t, CertOptions{})
	if err := verify(cli, ca.Pool(), x509.ExtKeyUsageServerAuth, ""); err == nil {
		t.Error("client cert verified for serverAuth")
	}
}

func TestClientIdentity(t *testing.T) {
	ca := NewCA(t)
	cli := ca.Client(t, CertOptions{
		CommonName:         "api",
		OrganizationalUnit: []string{"payments"},
		Organization:       []string{"acme"},
		DNSNames:           []string{"api.internal"},
		URIs:               []string{"spiffe://example.org/ns/prod/sa/api"},
	})
	l := cli.Leaf
	if l.Subject.CommonName != "api" || len(l.Subject.OrganizationalUnit) != 1 || l.Subject.OrganizationalUnit[0] != "payments" ||
		len(l.Subject.Organization) != 1 || l.Subject.Organization[0] != "acme" {
		t.Errorf("subject %v", l.Subject)
	}
	if len(l.URIs) != 1 || l.URIs[0].String() != "spiffe://example.org/ns/prod/sa/api" {
		t.Errorf("URIs %v", l.URIs)
	}
	if len(l.DNSNames) != 1 || len(l.IPAddresses) != 0 {
		t.Errorf("client SANs %v %v", l.DNSNames, l.IPAddresses)
	}
	if err := verify(cli, ca.Pool(), x509.ExtKeyUsageClientAuth, ""); err != nil {
		t.Error(err)
	}
	if len(l.ExtKeyUsage) != 1 || l.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("client usages %v", l.ExtKeyUsage)
	}
	if _, err := ca.Issue(CertOptions{URIs: []string{"%zz"}}); err == nil {
		t.Error("bad URI accepted")
	}
	if _, err := ca.Issue(CertOptions{Key: "dsa"}); err == nil || !strings.Contains(err.Error(), "ECDSAP256") {
		t.Errorf("bad key type: %v", err)
	}
}

// TestMutualTLS runs a real handshake with the helper configs.
func TestMutualTLS(t *testing.T) {
	ca := NewCA(t)
	srv, cli := ca.Server(t, CertOptions{}), ca.Client(t, CertOptions{CommonName: "svc"})
	for _, tc := range []struct {
		name    string
		cliCert *Cert
		roots   *CA
		wantErr bool
	}{
		{"ok", cli, ca, false},
		{"no client cert", nil, ca, true},
		{"client from other CA", NewCA(t).Client(t, CertOptions{}), ca, true},
		{"server not trusted", cli, NewCA(t), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			type result struct {
				err error
				cn  string
			}
			resc := make(chan result, 1)
			go func() {
				raw, err := ln.Accept()
				if err != nil {
					resc <- result{err: err}
					return
				}
				defer raw.Close()
				_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
				s := tls.Server(raw, ca.ServerTLS(srv, true))
				if err := s.Handshake(); err != nil {
					resc <- result{err: err}
					return
				}
				_, err = s.Write([]byte("ok"))
				resc <- result{err: err, cn: s.ConnectionState().PeerCertificates[0].Subject.CommonName}
			}()
			dl := &net.Dialer{Timeout: 10 * time.Second}
			cerr := func() error {
				c, err := tls.DialWithDialer(dl, "tcp", ln.Addr().String(), tc.roots.ClientTLS("localhost", tc.cliCert))
				if err != nil {
					return err
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				// TLS 1.3: a client learns that the server rejected its
				// certificate only on the first read.
				buf := make([]byte, 2)
				_, err = io.ReadFull(c, buf)
				return err
			}()
			res := <-resc
			serr := res.err
			if tc.wantErr != (cerr != nil || serr != nil) {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
			if !tc.wantErr && res.cn != "svc" {
				t.Errorf("server saw %q", res.cn)
			}
		})
	}
}

func TestWriteFiles(t *testing.T) {
	ca := NewCA(t)
	srv := ca.Server(t, CertOptions{})
	f := srv.WriteFiles(t, t.TempDir())
	st, err := os.Stat(f.Key)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", st.Mode(), err)
	}
	if _, err := tls.LoadX509KeyPair(f.Cert, f.Key); err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(f.CA)
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem unreadable")
	}
	if err := verify(srv, p, x509.ExtKeyUsageServerAuth, "localhost"); err != nil {
		t.Fatal(err)
	}
	// Combined file for haproxy: two certs then the key.
	var types []string
	rest := srv.CombinedPEM()
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		types = append(types, b.Type)
	}
	if strings.Join(types, ",") != "CERTIFICATE,CERTIFICATE,PRIVATE KEY" {
		t.Errorf("combined PEM %v", types)
	}
	if b, err := os.ReadFile(ca.WriteCertFile(t, t.TempDir())); err != nil || string(b) != string(ca.CertPEM) {
		t.Errorf("CA file: %v", err)
	}
	if len(srv.SPKIHash()) != 44 {
		t.Errorf("SPKI hash %q", srv.SPKIHash())
	}
}
