package scan

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

// TestCertAlgorithmsFromOIDs: ML-DSA certificates made by OpenSSL 3.5
// (testdata/mldsa) are named from their OIDs on every Go version, the
// classical ones from crypto/x509.
func TestCertAlgorithmsFromOIDs(t *testing.T) {
	var ders [][]byte
	var want [][2]string
	for _, n := range []string{"44", "65", "87"} {
		b, err := os.ReadFile("testdata/mldsa/ml-dsa-" + n + ".pem")
		if err != nil {
			t.Fatal(err)
		}
		p, _ := pem.Decode(b)
		ders = append(ders, p.Bytes)
		want = append(want, [2]string{"ML-DSA-" + n, "ML-DSA-" + n})
	}
	rsa := testpki.NewCA(t, testpki.RSA2048)
	ed := testpki.NewCA(t, testpki.Ed25519)
	for _, c := range []struct {
		der      []byte
		sig, key string
	}{
		{testpki.NewCA(t).Server(t, testpki.CertOptions{}).TLS.Certificate[0], "ECDSA-SHA256", "ECDSA P-256"},
		{rsa.Server(t, testpki.CertOptions{Key: testpki.RSA2048}).TLS.Certificate[0], "SHA256-RSA", "RSA-2048"},
		{ed.Server(t, testpki.CertOptions{Key: testpki.Ed25519}).TLS.Certificate[0], "Ed25519", "Ed25519"},
	} {
		ders = append(ders, c.der)
		want = append(want, [2]string{c.sig, c.key})
	}
	infos := certInfosDER(ders)
	for i, ci := range infos {
		if ci.SignatureAlgorithm != want[i][0] || ci.PublicKeyAlgorithm != want[i][1] {
			t.Errorf("cert %d: signature %q key %q, want %q %q", i, ci.SignatureAlgorithm, ci.PublicKeyAlgorithm, want[i][0], want[i][1])
		}
		if pq := i < 3; ci.PostQuantumSignature != pq || (pq && (ci.KeyType != want[i][1] || ci.KeyBits != 0)) {
			t.Errorf("cert %d: post_quantum_signature %v key_type %q bits %d", i, ci.PostQuantumSignature, ci.KeyType, ci.KeyBits)
		}
		if ci.Subject != "CN=localhost" && i < 3 {
			t.Errorf("cert %d: subject %q", i, ci.Subject)
		}
	}
	// A parsed classical chain gets the same names.
	c, _ := x509.ParseCertificate(ders[3])
	if got := certInfos([]*x509.Certificate{c}); got[0].PublicKeyAlgorithm != "ECDSA P-256" {
		t.Errorf("certInfos: %q", got[0].PublicKeyAlgorithm)
	}
	if _, _, err := certOIDs([]byte{0x30, 0x03, 0x02, 0x01, 0x01}); err == nil {
		t.Error("certOIDs accepted garbage")
	}
}

func mldsaChain(scheme string, sig, key string, n int) MLDSAChain {
	ch := MLDSAChain{Scheme: scheme, CipherSuite: "TLS_AES_256_GCM_SHA384"}
	for range n {
		ch.Certificates = append(ch.Certificates, CertInfo{SignatureAlgorithm: sig, PublicKeyAlgorithm: key})
	}
	return ch
}

// TestAssessCNSA2 covers every CNSA 2.0 verdict and each missing part.
func TestAssessCNSA2(t *testing.T) {
	yes, no := true, false
	g := func(names ...string) []GroupResult {
		var out []GroupResult
		ids := map[string]uint16{"MLKEM1024": 0x0202, "SecP384r1MLKEM1024": 0x11ED, "X25519MLKEM768": 0x11EC}
		for _, n := range names {
			out = append(out, GroupResult{Name: n, ID: ids[n]})
		}
		return out
	}
	broken := g("MLKEM1024")
	broken[0].Confirmed = &no
	c87 := mldsaChain("mldsa87", "ML-DSA-87", "ML-DSA-87", 2)
	mixed := c87
	mixed.Certificates = append(slices.Clone(c87.Certificates), CertInfo{SignatureAlgorithm: "ECDSA-SHA384", PublicKeyAlgorithm: "ML-DSA-87"})
	cases := []struct {
		name      string
		r         Result
		enum      bool
		want      CNSA2Verdict
		lacks     int
		wantChain bool
	}{
		{"ready", Result{Verdict: VerdictPQReady, Groups: g("X25519MLKEM768", "MLKEM1024"), MLDSA: &MLDSAAuth{Capable: &yes, Chains: []MLDSAChain{c87}}}, true, CNSA2Ready, 0, true},
		{"transitional", Result{Verdict: VerdictPQReady, Groups: g("SecP384r1MLKEM1024"), MLDSA: &MLDSAAuth{Capable: &yes, Chains: []MLDSAChain{c87}}}, true, CNSA2Transitional, 0, true},
		{"ml-dsa-65 only", Result{Verdict: VerdictPQReady, Groups: g("MLKEM1024"), MLDSA: &MLDSAAuth{Capable: &yes, Chains: []MLDSAChain{mldsaChain("mldsa65", "ML-DSA-65", "ML-DSA-65", 1)}}}, true, CNSA2NotReady, 1, false},
		{"classical issuer in the 87 chain", Result{Verdict: VerdictPQReady, Groups: g("MLKEM1024"), MLDSA: &MLDSAAuth{Capable: &yes, Chains: []MLDSAChain{mixed}}}, true, CNSA2NotReady, 1, false},
		{"no mlkem1024", Result{Verdict: VerdictPQReady, Groups: g("X25519MLKEM768"), MLDSA: &MLDSAAuth{Capable: &yes, Chains: []MLDSAChain{c87}}}, true, CNSA2NotReady, 1, true},
		{"broken mlkem1024", Result{Verdict: VerdictPQCapable, Groups: broken, MLDSA: &MLDSAAuth{Capable: &no}}, true, CNSA2NotReady, 2, false},
		{"enumeration off", Result{Verdict: VerdictPQReady}, false, CNSA2Unknown, 1, false},
		{"probe failed", Result{Verdict: VerdictPQReady, Groups: g("MLKEM1024"), MLDSA: &MLDSAAuth{}}, true, CNSA2Unknown, 1, false},
		{"error verdict", Result{Verdict: VerdictTimeout}, true, CNSA2Unknown, 1, false},
	}
	for _, c := range cases {
		got := assessCNSA2(&c.r, c.enum)
		if got.Verdict != c.want || len(got.Lacks) != c.lacks || got.MLDSA87Chain != c.wantChain {
			t.Errorf("%s: %+v, want %s with %d lacks, chain %v", c.name, got, c.want, c.lacks, c.wantChain)
		}
		if c.wantChain && (!got.AES256 || got.CipherSuite != "TLS_AES_256_GCM_SHA384") {
			t.Errorf("%s: cipher suite %q aes256 %v", c.name, got.CipherSuite, got.AES256)
		}
	}
}

// TestScanMLDSAClassicalServer: a crypto/tls server with an ECDSA
// certificate refuses the ML-DSA-only hello (handshake_failure, one
// connection) and is not CNSA 2.0 ready; the renderers show it.
func TestScanMLDSAClassicalServer(t *testing.T) {
	cert := newTestCert(t)
	addr := listen(t, func(c net.Conn) {
		defer c.Close()
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert.tls}, CurvePreferences: []tls.CurveID{tls.SecP384r1MLKEM1024, tls.X25519}})
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		tc.Handshake()
	})
	r, err := ScanOne(context.Background(), target(t, addr), Options{Enumerate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a := r.MLDSA
	if a == nil || a.Capable == nil || *a.Capable || a.Outcome != "alert_handshake_failure" || len(a.Chains) != 0 {
		t.Fatalf("ml_dsa_auth %+v, want not capable after a handshake_failure alert", a)
	}
	if r.CNSA2.Verdict != CNSA2NotReady || !slices.Equal(r.CNSA2.KeyExchange, []string{"SecP384r1MLKEM1024"}) || !slices.Equal(r.CNSA2.Lacks, []string{LackCNSA2Chain}) {
		t.Errorf("cnsa2 %+v, want not_ready lacking only the chain", r.CNSA2)
	}
	if c := r.Certificates[0]; c.PublicKeyAlgorithm != "ECDSA P-256" || c.SignatureAlgorithm != "ECDSA-SHA256" || c.PostQuantumSignature {
		t.Errorf("leaf %+v", c)
	}
	if mldsaCell(r) != "no" || csvMLDSA(r) != "false" || cnsa2Cell(r) != "not_ready" {
		t.Errorf("cells %q %q %q", mldsaCell(r), csvMLDSA(r), cnsa2Cell(r))
	}
	quick, _ := ScanOne(context.Background(), target(t, addr), Options{Timeout: 5 * time.Second})
	if quick.MLDSA != nil || quick.CNSA2.Verdict != CNSA2Unknown || mldsaCell(quick) != "-" {
		t.Errorf("quick scan: ml_dsa_auth %+v cnsa2 %+v", quick.MLDSA, quick.CNSA2)
	}
}
