package pqtls

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
)

func TestParseAuth(t *testing.T) {
	for _, in := range []string{"", " any ", "ANY"} {
		if a, err := ParseAuth(in); err != nil || a != AuthAny {
			t.Errorf("ParseAuth(%q) = %q, %v", in, a, err)
		}
	}
	_, err := ParseAuth("pq-please")
	var cerr *ConfigError
	if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "prefer-pq, require-pq or cnsa2") {
		t.Errorf("unknown mode: %v", err)
	}
	for in, want := range map[string]AuthMode{"Prefer-PQ": AuthPreferPQ, " require-pq": AuthRequirePQ, "CNSA2 ": AuthCNSA2} {
		a, err := ParseAuth(in)
		if mldsaSupported {
			if err != nil || a != want {
				t.Errorf("ParseAuth(%q) = %q, %v", in, a, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "needs pqtls built with Go 1.27 or later") {
			t.Errorf("ParseAuth(%q) on Go < 1.27: %v", in, err)
		}
	}
	// The policy validates its auth mode, and so every config builder does.
	if _, err := ServerConfig(Options{Policy: Policy{Auth: "bogus"}}); err == nil || !strings.Contains(err.Error(), "unknown authentication mode") {
		t.Errorf("ServerConfig with auth bogus: %v", err)
	}
}

// The cnsa2 key-exchange check names the part the peer lacks.
func TestCheckAuthCNSA2Group(t *testing.T) {
	err := checkAuth(AuthCNSA2, RoleClient, tls.ConnectionState{CurveID: tls.X25519MLKEM768, ServerName: "db"})
	var aerr *AuthPolicyError
	if !errors.As(err, &aerr) || !strings.Contains(err.Error(), "ML-KEM-1024 key exchange") || !strings.Contains(err.Error(), "X25519MLKEM768") ||
		!RefusedByPolicy(err) || ErrorReason(err) != ReasonPolicyClassicalAuth {
		t.Fatalf("cnsa2 with X25519MLKEM768: %v", err)
	}
	if err := checkAuth(AuthAny, RoleClient, tls.ConnectionState{CurveID: tls.X25519}); err != nil {
		t.Fatalf("auth any refused: %v", err)
	}
}

// ParsePolicy and PolicyFromEnv take the authentication mode through the
// one parser: trimmed, case-insensitive, unknown values list the valid
// ones, and a Go 1.26 build refuses the ML-DSA modes.
func TestParsePolicyAuth(t *testing.T) {
	p, _, err := ParsePolicy("prefer", "", "", " ANY ")
	if err != nil || p.Auth != AuthAny {
		t.Fatalf("auth ANY: %+v %v", p, err)
	}
	if _, _, err := ParsePolicy("prefer", "", "", "pq"); err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "any (default), prefer-pq, require-pq or cnsa2") {
		t.Fatalf("auth pq: %v", err)
	}
	p, _, err = ParsePolicy("prefer", "", "", "Require-PQ ")
	if mldsaSupported {
		if err != nil || p.Auth != AuthRequirePQ || !strings.HasSuffix(p.String(), "auth require-pq") {
			t.Fatalf("auth require-pq: %+v %v", p, err)
		}
		// ML-DSA exists only in TLS 1.3; cnsa2 sets its own groups.
		if _, err := (Policy{Auth: AuthRequirePQ, MaxVersion: tls.VersionTLS12}).Validate(); err == nil || !strings.Contains(err.Error(), "needs TLS 1.3") {
			t.Errorf("require-pq with TLS 1.2 maximum: %v", err)
		}
		if _, _, err := ParsePolicy("prefer", "X25519MLKEM768", "", "cnsa2"); err == nil || !strings.Contains(err.Error(), "cnsa2 sets the key-exchange groups") {
			t.Errorf("cnsa2 with a group list: %v", err)
		}
		if w, err := (Policy{Auth: AuthPreferPQ, MaxVersion: tls.VersionTLS12}).Validate(); err != nil || len(w) == 0 || !strings.Contains(strings.Join(w, "\n"), "never presents one") {
			t.Errorf("prefer-pq with TLS 1.2 maximum: %v %v", w, err)
		}
	} else if err == nil || !strings.Contains(err.Error(), "needs pqtls built with Go 1.27 or later") {
		t.Fatalf("auth require-pq on Go < 1.27: %v", err)
	}
}

func TestPolicyFromEnvAuth(t *testing.T) {
	t.Setenv(EnvPolicy, "")
	t.Setenv(EnvAuth, "bogus")
	var cerr *ConfigError
	if _, err := PolicyFromEnv(); !errors.As(err, &cerr) || cerr.Field != EnvAuth || !strings.Contains(err.Error(), "PQTLS_AUTH") || !strings.Contains(err.Error(), "prefer-pq, require-pq or cnsa2") {
		t.Fatalf("PQTLS_AUTH=bogus: %v", err)
	}
	for _, policy := range []string{"", "require"} {
		t.Setenv(EnvPolicy, policy)
		t.Setenv(EnvAuth, " CNSA2")
		p, err := PolicyFromEnv()
		if !mldsaSupported {
			if err == nil || !strings.Contains(err.Error(), "needs pqtls built with Go 1.27 or later") || !strings.Contains(err.Error(), "PQTLS_AUTH") {
				t.Fatalf("PQTLS_POLICY=%q PQTLS_AUTH=cnsa2 on Go < 1.27: %v", policy, err)
			}
			continue
		}
		if err != nil || p.Auth != AuthCNSA2 {
			t.Fatalf("PQTLS_POLICY=%q PQTLS_AUTH=cnsa2: %+v %v", policy, p, err)
		}
	}
	t.Setenv(EnvPolicy, "prefer:x25519")
	t.Setenv(EnvAuth, "cnsa2")
	if _, err := PolicyFromEnv(); err == nil || !strings.Contains(err.Error(), "PQTLS_AUTH") {
		t.Fatalf("PQTLS_POLICY with groups and PQTLS_AUTH=cnsa2: %v", err)
	}
}

// An ML-DSA certificate file: a Go 1.26 build says what to rebuild with
// (crypto/tls alone says only "failed to parse private key"); Go 1.27
// loads it.
func TestLoadX509KeyPairMLDSA(t *testing.T) {
	cert, err := LoadX509KeyPair("testdata/auth/mldsa65-server.pem", "testdata/auth/mldsa65-server-key.pem")
	if !mldsaSupported {
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "ML-DSA-65 key, which needs pqtls built with Go 1.27 or later") {
			t.Fatalf("Go < 1.27: %v", err)
		}
		return
	}
	if err != nil || cert.Leaf == nil || MLDSAKeyParams(cert.Leaf) != "ML-DSA-65" {
		t.Fatalf("Go 1.27: %v", err)
	}
}

func TestSignatureSchemes(t *testing.T) {
	for id, want := range map[tls.SignatureScheme]string{0x0904: "mldsa44", 0x0905: "mldsa65", 0x0906: "mldsa87", tls.ECDSAWithP256AndSHA256: "ecdsa_secp256r1_sha256", 0x1234: "0x1234"} {
		if got := SignatureSchemeName(id); got != want {
			t.Errorf("SignatureSchemeName(%#04x) = %q, want %q", uint16(id), got, want)
		}
		if IsMLDSAScheme(id) != strings.HasPrefix(want, "mldsa") {
			t.Errorf("IsMLDSAScheme(%#04x) = %v", uint16(id), IsMLDSAScheme(id))
		}
	}
}

// authLacks is the server's ClientHello-time decision: it names what the
// client lacks for each mode.
func TestAuthLacks(t *testing.T) {
	ecdsaOnly := &tls.ClientHelloInfo{SupportedVersions: []uint16{tls.VersionTLS13}, SupportedCurves: []tls.CurveID{tls.X25519MLKEM768}, SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}}
	ml65 := &tls.ClientHelloInfo{SupportedVersions: []uint16{tls.VersionTLS13}, SupportedCurves: []tls.CurveID{tls.SecP384r1MLKEM1024}, SignatureSchemes: []tls.SignatureScheme{0x0905}}
	tls12 := &tls.ClientHelloInfo{SupportedVersions: []uint16{tls.VersionTLS12}, SignatureSchemes: []tls.SignatureScheme{0x0905}}
	for _, c := range []struct {
		mode  AuthMode
		hello *tls.ClientHelloInfo
		want  string
	}{
		{AuthAny, ecdsaOnly, ""},
		{AuthPreferPQ, ecdsaOnly, ""},
		{AuthRequirePQ, ecdsaOnly, "ML-DSA in signature_algorithms"},
		{AuthRequirePQ, ml65, ""},
		{AuthRequirePQ, tls12, "TLS 1.3"},
		{AuthCNSA2, ecdsaOnly, "ML-KEM-1024 key exchange"},
		{AuthCNSA2, ml65, "mldsa87 in signature_algorithms"},
	} {
		lacks, got := authLacks(c.mode, c.hello)
		if (c.want == "") != (lacks == "") || !strings.Contains(lacks, c.want) {
			t.Errorf("authLacks(%s) = %q (got %q), want %q", c.mode, lacks, got, c.want)
		}
	}
}
