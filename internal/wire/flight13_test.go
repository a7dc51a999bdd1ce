package wire

import (
	"bytes"
	"context"
	"crypto/tls"
	"testing"

	"github.com/pqtls/pqtls/internal/testpki"
)

func flightHello(groups []tls.CurveID, suites []uint16, schemes []tls.SignatureScheme) *ClientHello {
	ch := NewClientHello13("localhost")
	ch.SupportedVersions = []uint16{VersionTLS13}
	ch.CipherSuites = suites
	ch.SupportedGroups = groups
	ch.SignatureAlgorithms = schemes
	return ch
}

func keyAgreements(t *testing.T, groups ...tls.CurveID) []*KeyAgreement {
	t.Helper()
	var out []*KeyAgreement
	for _, g := range groups {
		ka, err := NewKeyAgreement(g)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ka)
	}
	return out
}

// TestHandshake13DecryptsChain: against crypto/tls servers, Handshake13
// derives the handshake keys for every TLS 1.3 suite, hybrid and classical
// groups (with and without a HelloRetryRequest) and returns the exact chain
// and the CertificateVerify scheme.
func TestHandshake13DecryptsChain(t *testing.T) {
	ecCert := testpki.NewCA(t).Server(t, testpki.CertOptions{})
	rsaCert := testpki.NewCA(t, testpki.RSA2048).Server(t, testpki.CertOptions{Key: testpki.RSA2048})
	cases := []struct {
		name       string
		cert       *testpki.Cert
		serverPref []tls.CurveID
		shares     []tls.CurveID
		suite      uint16
		wantGroup  tls.CurveID
		wantHRR    bool
		wantScheme tls.SignatureScheme
	}{
		{"hybrid aes128", ecCert, nil, []tls.CurveID{tls.X25519MLKEM768, tls.X25519}, tls.TLS_AES_128_GCM_SHA256, tls.X25519MLKEM768, false, tls.ECDSAWithP256AndSHA256},
		{"x25519 aes256", ecCert, []tls.CurveID{tls.X25519}, []tls.CurveID{tls.X25519MLKEM768, tls.X25519}, tls.TLS_AES_256_GCM_SHA384, tls.X25519, false, tls.ECDSAWithP256AndSHA256},
		{"p384 after HRR chacha", rsaCert, []tls.CurveID{tls.CurveP384}, []tls.CurveID{tls.X25519MLKEM768}, tls.TLS_CHACHA20_POLY1305_SHA256, tls.CurveP384, true, tls.PSSWithSHA256},
		{"mlkem1024 hybrid after HRR", ecCert, []tls.CurveID{tls.SecP384r1MLKEM1024}, []tls.CurveID{tls.X25519}, tls.TLS_AES_128_GCM_SHA256, tls.SecP384r1MLKEM1024, true, tls.ECDSAWithP256AndSHA256},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := startGoServer(t, &tls.Config{Certificates: []tls.Certificate{c.cert.TLS}, CurvePreferences: c.serverPref})
			conn := dialTest(t, srv.addr)
			groups := append([]tls.CurveID{}, c.shares...)
			for _, g := range []tls.CurveID{tls.CurveP384, tls.SecP384r1MLKEM1024} {
				if !bytes.Contains(u16s(groups), u16s([]tls.CurveID{g})) {
					groups = append(groups, g)
				}
			}
			ch := flightHello(groups, []uint16{c.suite}, []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, tls.PSSWithSHA256})
			res, fl, err := Handshake13(context.Background(), conn, ch, keyAgreements(t, c.shares...), ExchangeOptions{})
			if err != nil {
				t.Fatalf("Handshake13: %v (outcome %v)", err, res.Outcome)
			}
			if fl == nil || res.Outcome != OutcomeServerHello {
				t.Fatalf("outcome %s, flight %v", res.Outcome, fl)
			}
			if fl.Group != c.wantGroup || fl.HelloRetry != c.wantHRR || fl.CipherSuite != c.suite || fl.SignatureScheme != c.wantScheme {
				t.Errorf("group %v hrr %v suite %#x scheme %v; want %v %v %#x %v", fl.Group, fl.HelloRetry, fl.CipherSuite, fl.SignatureScheme, c.wantGroup, c.wantHRR, c.suite, c.wantScheme)
			}
			if len(fl.Certificates) != 1 || !bytes.Equal(fl.Certificates[0], c.cert.TLS.Certificate[0]) {
				t.Errorf("chain of %d certificates, not the server's leaf", len(fl.Certificates))
			}
		})
	}
}

func u16s(ids []tls.CurveID) []byte {
	var b []byte
	for _, id := range ids {
		b = append(b, byte(id>>8), byte(id))
	}
	return b
}

// TestHandshake13MLDSAOnlyRefused: a server without an ML-DSA certificate
// answers a hello offering only ML-DSA signature schemes with a
// handshake_failure alert, before any ServerHello.
func TestHandshake13MLDSAOnlyRefused(t *testing.T) {
	srv := startGoServer(t, &tls.Config{})
	conn := dialTest(t, srv.addr)
	ch := flightHello([]tls.CurveID{tls.X25519MLKEM768, tls.X25519}, []uint16{tls.TLS_AES_128_GCM_SHA256}, []tls.SignatureScheme{SchemeMLDSA87, SchemeMLDSA65, SchemeMLDSA44})
	res, fl, err := Handshake13(context.Background(), conn, ch, keyAgreements(t, tls.X25519MLKEM768, tls.X25519), ExchangeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fl != nil || res.Outcome != OutcomeAlert || res.Alert.Description != AlertHandshakeFailure {
		t.Fatalf("outcome %s alert %v flight %v, want a handshake_failure alert", res.Outcome, res.Alert, fl)
	}
}

// TestKeyAgreementSharedSecret: each real group's secret matches the
// server side computed with crypto/ecdh / crypto/mlkem through a Go
// handshake above; here a wrong-size server share is an error.
func TestKeyAgreementBadShare(t *testing.T) {
	for _, g := range []tls.CurveID{tls.X25519, tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, 0x0202} {
		ka, err := NewKeyAgreement(g)
		if err != nil {
			t.Fatal(err)
		}
		if len(ka.Share.Data) == 0 {
			t.Errorf("%v: empty share", g)
		}
		if _, err := ka.SharedSecret(make([]byte, 3)); err == nil {
			t.Errorf("%v: a 3-byte server share was accepted", g)
		}
	}
	if _, err := NewKeyAgreement(0x6399); err == nil {
		t.Error("a key agreement for a Kyber draft was made")
	}
}
