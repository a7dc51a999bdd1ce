package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/devpki"
)

// TestCertsDevMLDSA: a Go 1.27 build writes an ML-DSA CA, server and client
// chain; an older build exits 2 with "needs pqtls built with Go 1.27 or
// later" and writes nothing. --key-type is trimmed and case-insensitive.
func TestCertsDevMLDSA(t *testing.T) {
	for _, tc := range []struct{ flag, sig string }{
		{" ML-DSA-44", "ML-DSA-44"}, {"ml-dsa-65 ", "ML-DSA-65"}, {"Ml-Dsa-87", "ML-DSA-87"},
	} {
		dir := filepath.Join(t.TempDir(), "pki")
		code, _, stderr := runCLI(t, "certs", "dev", "--out", dir, "--key-type", tc.flag)
		if !devpki.MLDSA65.Supported() {
			if code != exitUsage || !strings.Contains(stderr, "needs pqtls built with Go 1.27 or later") {
				t.Errorf("%q on a Go 1.26 build: exit %d, stderr %q", tc.flag, code, stderr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%q: %s was created: %v", tc.flag, dir, err)
			}
			continue
		}
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", tc.flag, code, stderr)
		}
		caPEM, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			t.Fatalf("%q: ca.pem does not parse", tc.flag)
		}
		for _, name := range []string{"server", "client"} {
			pair, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
			if err != nil {
				t.Fatalf("%q %s: %v", tc.flag, name, err)
			}
			leaf, _ := x509.ParseCertificate(pair.Certificate[0])
			if got := leaf.SignatureAlgorithm.String(); got != tc.sig {
				t.Errorf("%q %s: signature algorithm %s, want %s", tc.flag, name, got, tc.sig)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Errorf("%q %s: does not verify against ca.pem: %v", tc.flag, name, err)
			}
		}
	}
}

func TestCertsDevKeyTypeParsing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	code, _, stderr := runCLI(t, "certs", "dev", "--out", dir, "--key-type", "ml-dsa-99")
	if code != exitUsage || !strings.Contains(stderr, "ml-dsa-87") || !strings.Contains(stderr, "ecdsa-p256") {
		t.Errorf("unknown key type: exit %d, stderr %q (want 2 and the valid types)", code, stderr)
	}
	code, _, stderr = runCLI(t, "certs", "dev", "--out", dir, "--key-type", " RSA ")
	if code != 0 {
		t.Fatalf("--key-type ' RSA ': exit %d: %s", code, stderr)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if leaf, _ := x509.ParseCertificate(pair.Certificate[0]); leaf.PublicKeyAlgorithm != x509.RSA {
		t.Errorf("' RSA ': key %v", leaf.PublicKeyAlgorithm)
	}
}
