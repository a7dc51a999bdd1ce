//go:build go1.27

package pqtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/prometheus/client_golang/prometheus"
)

// mldsaChain makes a devpki CA and a localhost server certificate whose
// keys are of type kt (devpki.ECDSAP256 or an ML-DSA type), signed by the
// CA; the chain sent is leaf + CA.
func mldsaChain(t testing.TB, kt devpki.KeyType) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	ca, err := devpki.NewCA("auth test CA", kt)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(devpki.Request{CommonName: "localhost", Hosts: []string{"localhost", "127.0.0.1"}, KeyType: kt, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	cert := leaf.TLS()
	cert.Certificate = append(cert.Certificate, ca.Leaf.Raw)
	return cert, ca.Pool()
}

func authHandshake(t *testing.T, serverCerts []tls.Certificate, sp, cp Policy, pool *x509.CertPool, obs *Observer) (tls.ConnectionState, error, error) {
	t.Helper()
	scfg, err := ServerConfig(Options{Policy: sp, Base: &tls.Config{Certificates: serverCerts}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ccfg, err := ClientConfig(Options{Policy: cp, Base: &tls.Config{RootCAs: pool, ServerName: "localhost"}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	return loopbackHandshake(t, scfg, ccfg)
}

func TestAuthRequirePQ(t *testing.T) {
	ecCert, ecPool := mldsaChain(t, devpki.ECDSAP256)
	mlCert, mlPool := mldsaChain(t, devpki.MLDSA65)
	ml87Cert, ml87Pool := mldsaChain(t, devpki.MLDSA87)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	obs := &Observer{Metrics: m}

	// require-pq client against an ECDSA server: refused, naming the lack.
	_, cerr, _ := authHandshake(t, []tls.Certificate{ecCert}, Policy{}, Policy{Auth: "Require-PQ"}, ecPool, nil)
	var aerr *AuthPolicyError
	if !errors.As(cerr, &aerr) || !RefusedByPolicy(cerr) || ErrorReason(cerr) != ReasonPolicyClassicalAuth ||
		!strings.Contains(cerr.Error(), "ML-DSA-signed certificate chain") || !strings.Contains(cerr.Error(), "ECDSA") {
		t.Fatalf("require-pq vs ECDSA server: %v", cerr)
	}
	// require-pq against an ML-DSA-65 server: accepted, counted as ml-dsa on both sides.
	cs, cerr, serr := authHandshake(t, []tls.Certificate{mlCert}, Policy{}, Policy{Auth: AuthRequirePQ}, mlPool, obs)
	if cerr != nil || serr != nil || cs.PeerCertificates[0].PublicKeyAlgorithm != x509.MLDSA {
		t.Fatalf("require-pq vs ML-DSA-65 server: client %v, server %v", cerr, serr)
	}
	wantSeries(t, reg, map[string]float64{
		`tls_handshake_auth_total{kind=ml-dsa,role=client}`: 1,
		`tls_handshake_auth_total{kind=ml-dsa,role=server}`: 1,
		aes128Client: 1, aes128Server: 1,
		`tls_handshake_group_total{group=x25519_mlkem768,kind=hybrid,role=client}`:     1,
		`tls_handshake_group_total{group=x25519_mlkem768,kind=hybrid,role=server}`:     1,
		`tls_handshake_hook_duration_seconds_count{group=x25519_mlkem768,role=server}`: 1,
	})
	// cnsa2 against ML-DSA-65: refused, the chain is not ML-DSA-87.
	_, cerr, _ = authHandshake(t, []tls.Certificate{mlCert}, Policy{}, Policy{Auth: AuthCNSA2}, mlPool, nil)
	if !errors.As(cerr, &aerr) || !strings.Contains(cerr.Error(), "ML-DSA-87 certificate chain") {
		t.Fatalf("cnsa2 vs ML-DSA-65 server: %v", cerr)
	}
	// cnsa2 against an ML-DSA-87 server with pqtls' default groups (no
	// MLKEM1024): the transitional hybrid, accepted.
	cs, cerr, serr = authHandshake(t, []tls.Certificate{ml87Cert}, Policy{}, Policy{Auth: AuthCNSA2}, ml87Pool, nil)
	if cerr != nil || serr != nil || cs.CurveID != tls.SecP384r1MLKEM1024 {
		t.Fatalf("cnsa2 vs ML-DSA-87 server: client %v, server %v, group %s", cerr, serr, GroupName(cs.CurveID))
	}
	// cnsa2 against a plain crypto/tls server offering pure MLKEM1024 only.
	ccfg, err := ClientConfig(Options{Policy: Policy{Auth: AuthCNSA2}, Base: &tls.Config{RootCAs: ml87Pool, ServerName: "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	cs, cerr, serr = loopbackHandshake(t, &tls.Config{Certificates: []tls.Certificate{ml87Cert}, CurvePreferences: []tls.CurveID{tls.MLKEM1024}}, ccfg)
	if cerr != nil || serr != nil || cs.CurveID != tls.MLKEM1024 {
		t.Fatalf("cnsa2 vs MLKEM1024 server: client %v, server %v, group %s", cerr, serr, GroupName(cs.CurveID))
	}
	// A cnsa2 server refuses a client that offers no ML-KEM-1024 group.
	_, cerr, serr = authHandshake(t, []tls.Certificate{ml87Cert}, Policy{Auth: AuthCNSA2}, Policy{Groups: []tls.CurveID{tls.X25519MLKEM768}}, ml87Pool, nil)
	if cerr == nil || !errors.As(serr, &aerr) || !strings.Contains(serr.Error(), "ML-KEM-1024 key exchange") || ErrorReason(serr) != ReasonPolicyClassicalAuth {
		t.Fatalf("cnsa2 server vs X25519MLKEM768-only client: client %v, server %v", cerr, serr)
	}
	// A require-pq server refuses a TLS 1.2-only client at ClientHello
	// time, and counts the refusal under the reason of the same error.
	_, cerr, serr = authHandshake(t, []tls.Certificate{mlCert}, Policy{Auth: AuthRequirePQ}, Policy{MaxVersion: tls.VersionTLS12}, mlPool, obs)
	if cerr == nil || !errors.As(serr, &aerr) || aerr.Role != RoleServer || !strings.Contains(serr.Error(), "TLS 1.3") {
		t.Fatalf("require-pq server vs TLS 1.2 client: client %v, server %v", cerr, serr)
	}
	if got := testpeer.Series(t, reg)[`tls_handshake_errors_total{reason=policy_classical_auth,role=server}`]; got != 1 {
		t.Fatalf("server refusals counted as policy_classical_auth: %v, want 1", got)
	}
}

// prefer-pq puts the ML-DSA certificate first: a client that supports
// ML-DSA gets it though the ECDSA one is listed first.
func TestAuthPreferPQ(t *testing.T) {
	ecCert, _ := mldsaChain(t, devpki.ECDSAP256)
	mlCert, _ := mldsaChain(t, devpki.MLDSA44)
	both := []tls.Certificate{ecCert, mlCert}
	roots := x509.NewCertPool()
	for _, c := range [][]byte{ecCert.Certificate[1], mlCert.Certificate[1]} {
		ca, err := x509.ParseCertificate(c)
		if err != nil {
			t.Fatal(err)
		}
		roots.AddCert(ca)
	}
	cs, cerr, serr := authHandshake(t, both, Policy{}, Policy{}, roots, nil)
	if cerr != nil || serr != nil || cs.PeerCertificates[0].PublicKeyAlgorithm != x509.ECDSA {
		t.Fatalf("auth any: client %v, server %v (Go picks the first compatible: ECDSA)", cerr, serr)
	}
	cs, cerr, serr = authHandshake(t, both, Policy{Auth: AuthPreferPQ}, Policy{}, roots, nil)
	if cerr != nil || serr != nil || cs.PeerCertificates[0].PublicKeyAlgorithm != x509.MLDSA {
		t.Fatalf("prefer-pq: client %v, server %v, leaf %v", cerr, serr, cs.PeerCertificates)
	}
}

// A cnsa2 client refused by a server that shares no ML-KEM-1024 group
// (plain crypto/tls, X25519MLKEM768 only) gets an *AuthPolicyError naming
// ML-KEM-1024 key exchange, through AsPolicyError (Dialer, tunnel) — not
// a bare handshake_failure alert.
func TestAuthCNSA2ClientNoSharedGroup(t *testing.T) {
	cert, pool := mldsaChain(t, devpki.MLDSA87)
	ccfg, err := ClientConfig(Options{Policy: Policy{Auth: AuthCNSA2}, Base: &tls.Config{RootCAs: pool, ServerName: "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	_, cerr, _ := loopbackHandshake(t, &tls.Config{Certificates: []tls.Certificate{cert}, CurvePreferences: []tls.CurveID{tls.X25519MLKEM768}}, ccfg)
	err = AsPolicyError(ccfg, "127.0.0.1:1", cerr)
	var aerr *AuthPolicyError
	if !errors.As(err, &aerr) || !strings.Contains(err.Error(), "needs ML-KEM-1024 key exchange") || !strings.Contains(err.Error(), "alert_handshake_failure") || ErrorReason(err) != ReasonPolicyClassicalAuth {
		t.Fatalf("cnsa2 vs X25519MLKEM768-only server: %v (raw %v)", err, cerr)
	}
}
