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
