package certalg

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"

	"github.com/pqtls/pqtls/internal/testpki"
)

// TestNames: OpenSSL 3.5 ML-DSA certificates (testdata/mldsa, made with
// `openssl req -x509 -newkey ML-DSA-NN`) get the same names on Go 1.26
// and 1.27; classical ones get crypto/x509's.
func TestNames(t *testing.T) {
	for _, n := range []string{"44", "65", "87"} {
		b, err := os.ReadFile("testdata/mldsa/ml-dsa-" + n + ".pem")
		if err != nil {
			t.Fatal(err)
		}
		p, _ := pem.Decode(b)
		c, err := x509.ParseCertificate(p.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		sig, key := Names(c)
		if want := "ML-DSA-" + n; sig != want || key != want || MLDSALevel(sig) == 0 {
			t.Errorf("ml-dsa-%s: %q %q level %d", n, sig, key, MLDSALevel(sig))
		}
	}
	if MLDSALevel("ML-DSA-44") != 2 || MLDSALevel("ML-DSA-65") != 3 || MLDSALevel("ML-DSA-87") != 5 || MLDSALevel("ECDSA-SHA256") != 0 {
		t.Error("FIPS 204 categories")
	}
	c := testpki.NewCA(t, testpki.RSA2048).Server(t, testpki.CertOptions{Key: testpki.RSA2048}).Leaf
	if sig, key := Names(c); sig != "SHA256-RSA" || key != "RSA-2048" {
		t.Errorf("rsa: %q %q", sig, key)
	}
	if _, _, err := OIDs([]byte{0x30, 0x00}); err == nil {
		t.Error("OIDs accepted an empty SEQUENCE")
	}
	if NameOID("1.2.3") != "OID 1.2.3" || NameOID("2.16.840.1.101.3.4.3.19") != "ML-DSA-87" {
		t.Error("NameOID")
	}
}
