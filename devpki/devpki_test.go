package devpki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	ca, err := NewCA("dev CA", ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Leaf.IsCA || ca.Leaf.Subject.CommonName != "dev CA" || !slices.Equal(ca.Leaf.Subject.Organization, []string{"pqtls development CA"}) {
		t.Errorf("CA subject %v, IsCA %v", ca.Leaf.Subject, ca.Leaf.IsCA)
	}
	if d := ca.Leaf.NotAfter.Sub(ca.Leaf.NotBefore); d < 9*365*24*time.Hour {
		t.Errorf("CA validity %v, want about ten years", d)
	}
	leaf, err := ca.Issue(Request{CommonName: "db", Hosts: []string{"db.internal", "127.0.0.1", ""}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(leaf.Leaf.DNSNames, []string{"db.internal"}) || len(leaf.Leaf.IPAddresses) != 1 || !leaf.Leaf.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("SANs %v %v", leaf.Leaf.DNSNames, leaf.Leaf.IPAddresses)
	}
	if want := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}; !slices.Equal(leaf.Leaf.ExtKeyUsage, want) {
		t.Errorf("neither Server nor Client: usages %v, want %v", leaf.Leaf.ExtKeyUsage, want)
	}
	srv, err := ca.Issue(Request{CommonName: "srv", Server: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(srv.Leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("server usages %v", srv.Leaf.ExtKeyUsage)
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "db.internal"}); err != nil {
		t.Errorf("verify: %v", err)
	}
	if _, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM); err != nil {
		t.Errorf("PEM pair: %v", err)
	}
	if _, err := ca.Issue(Request{URIs: []string{"not a uri"}}); err == nil || !strings.Contains(err.Error(), "spiffe://") {
		t.Errorf("relative URI: %v", err)
	}
}

// TestExplicitFields covers what testpki builds on: organization, explicit
// IPs, usages, validity and a caller-supplied key.
func TestExplicitFields(t *testing.T) {
	caKey, err := GenerateKey(Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	nb, na := time.Now().Add(-2*time.Hour).Truncate(time.Second), time.Now().Add(48*time.Hour).Truncate(time.Second)
	ca, err := CreateCA(CARequest{CommonName: "t", Organization: []string{"tests"}, Key: caKey, NotBefore: nb, NotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Leaf.NotBefore.Equal(nb) || !ca.Leaf.NotAfter.Equal(na) || !slices.Equal(ca.Leaf.Subject.Organization, []string{"tests"}) {
		t.Errorf("CA %v %v..%v", ca.Leaf.Subject, ca.Leaf.NotBefore, ca.Leaf.NotAfter)
	}
	if !ca.Key.Public().(ed25519.PublicKey).Equal(caKey.Public()) {
		t.Error("CA did not use the supplied key")
	}
	leafKey, err := GenerateKey(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Issue(Request{
		CommonName:   "api",
		Organization: []string{"acme"},
		Hosts:        []string{"api.internal"},
		IPs:          []net.IP{net.IPv6loopback},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		Server:       true, // ignored: ExtKeyUsage wins
		Key:          leafKey,
		NotBefore:    nb,
		NotAfter:     na,
	})
	if err != nil {
		t.Fatal(err)
	}
	l := c.Leaf
	if !slices.Equal(l.Subject.Organization, []string{"acme"}) || len(l.IPAddresses) != 1 || !l.IPAddresses[0].Equal(net.IPv6loopback) {
		t.Errorf("subject %v IPs %v", l.Subject, l.IPAddresses)
	}
	if !slices.Equal(l.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("usages %v", l.ExtKeyUsage)
	}
	if !l.NotBefore.Equal(nb) || !l.NotAfter.Equal(na) {
		t.Errorf("validity %v..%v", l.NotBefore, l.NotAfter)
	}
	if !c.Key.Public().(*ecdsa.PublicKey).Equal(leafKey.Public()) {
		t.Error("leaf did not use the supplied key")
	}
	if _, err := l.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "::1", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("client-only certificate verified for serverAuth")
	}
}

func TestGenerateKey(t *testing.T) {
	for _, tc := range []struct {
		kt   KeyType
		want string
	}{{"", "ecdsa"}, {ECDSAP256, "ecdsa"}, {RSA2048, "rsa"}, {Ed25519, "ed25519"}} {
		k, err := GenerateKey(tc.kt)
		if err != nil {
			t.Fatalf("%q: %v", tc.kt, err)
		}
		var got string
		switch k := k.(type) {
		case *ecdsa.PrivateKey:
			got = "ecdsa"
		case *rsa.PrivateKey:
			if k.N.BitLen() == 2048 {
				got = "rsa"
			}
		case ed25519.PrivateKey:
			got = "ed25519"
		}
		if got != tc.want {
			t.Errorf("%q: key %T, want %s", tc.kt, k, tc.want)
		}
	}
	if _, err := GenerateKey("dsa"); err == nil || !strings.Contains(err.Error(), "ecdsa-p256") {
		t.Errorf("unknown key type: %v", err)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	files := []File{{Name: "a.pem", Data: []byte("a"), Mode: 0o644}, {Name: "k.pem", Data: []byte("k"), Mode: 0o600}}
	if err := WriteFiles(dir, files, false); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "k.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode: %v %v", st, err)
	}
	again := []File{{Name: "new.pem", Data: []byte("n"), Mode: 0o644}, {Name: "a.pem", Data: []byte("b"), Mode: 0o644}}
	if err := WriteFiles(dir, again, false); err == nil || !strings.Contains(err.Error(), "a.pem") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("overwrite without force: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.pem")); !os.IsNotExist(err) {
		t.Errorf("refused write still created new.pem: %v", err)
	}
	if err := WriteFiles(dir, again, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.pem")); string(b) != "b" {
		t.Errorf("forced overwrite left %q", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("files left: %v (temporary files not cleaned?)", ents)
	}
}

// Names no TLS client could match are refused with a message that names
// them, instead of producing a useless certificate.
func TestIssueRejectsBadHosts(t *testing.T) {
	ca, err := NewCA("test", ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"a b", "http://x", "db.internal:5432", "1.2.3.4.5", "a..b", "-x.internal", "db.internal."} {
		if _, err := ca.Issue(Request{Hosts: []string{h}, Server: true}); err == nil || !strings.Contains(err.Error(), h) {
			t.Errorf("Issue with host %q = %v, want an error naming it", h, err)
		}
	}
	c, err := ca.Issue(Request{Hosts: []string{"*.svc.internal", "db_1.internal", "localhost", "::1", "10.0.0.1"}, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Leaf.DNSNames) != 3 || len(c.Leaf.IPAddresses) != 2 {
		t.Fatalf("SANs %v %v", c.Leaf.DNSNames, c.Leaf.IPAddresses)
	}
}

func TestSerialNumbersAreRandomAndDistinct(t *testing.T) {
	ca, err := NewCA("serial CA", ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ca.Issue(Request{CommonName: "a", Server: true})
	b, _ := ca.Issue(Request{CommonName: "b", Server: true})
	for _, c := range []*Cert{&ca.Cert, a, b} {
		if c.Leaf.SerialNumber == nil || c.Leaf.SerialNumber.Sign() <= 0 || c.Leaf.SerialNumber.BitLen() < 64 {
			t.Fatalf("serial %v: want a positive random serial of at least 64 bits", c.Leaf.SerialNumber)
		}
	}
	if a.Leaf.SerialNumber.Cmp(b.Leaf.SerialNumber) == 0 || a.Leaf.SerialNumber.Cmp(ca.Leaf.SerialNumber) == 0 {
		t.Fatal("two certificates share a serial number")
	}
}

func TestParseKeyTypeTrimmedCaseInsensitive(t *testing.T) {
	for in, want := range map[string]KeyType{
		"":             ECDSAP256,
		" ECDSA-P256 ": ECDSAP256,
		"RSA":          RSA2048,
		"Ed25519":      Ed25519,
		" ML-DSA-44":   MLDSA44,
		"ml-dsa-65\t":  MLDSA65,
		"ML-DSA-87":    MLDSA87,
		"mldsa65":      MLDSA65,
	} {
		got, err := ParseKeyType(in)
		if err != nil || got != want {
			t.Errorf("ParseKeyType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseKeyType("ml-dsa-99")
	if err == nil || !strings.Contains(err.Error(), "ml-dsa-65") || !strings.Contains(err.Error(), "ecdsa-p256 (default)") {
		t.Errorf("unknown key type: error %v does not list the valid ones", err)
	}
}

func TestPostQuantumKeyTypes(t *testing.T) {
	for _, kt := range keyTypeOrder {
		pq := kt == MLDSA44 || kt == MLDSA65 || kt == MLDSA87
		if !pq && !kt.Supported() {
			t.Errorf("classical key type %s not supported", kt)
		}
		if pq && kt.Supported() != mldsaBuild {
			t.Errorf("%s.Supported() = %v in a build with ML-DSA = %v", kt, kt.Supported(), mldsaBuild)
		}
		_, err := GenerateKey(kt)
		if pq && !mldsaBuild {
			if !errors.Is(err, ErrNeedsGo127) || !strings.Contains(err.Error(), "needs pqtls built with Go 1.27 or later") {
				t.Errorf("GenerateKey(%s) before Go 1.27: %v", kt, err)
			}
		} else if err != nil {
			t.Errorf("GenerateKey(%s): %v", kt, err)
		}
	}
}
