package pqtls

import (
	"crypto/tls"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// oddSpellings of require must all mean require; misspellings must fail at
// every entry point, never fall back to prefer.
var (
	oddRequire = []string{"REQUIRE", "Require ", " require\t", "ReQuIrE", "\nrequire"}
	badModes   = []string{"requir", "strict", "require-x", "pre fer", "0"}
)

func TestModeSpellingsEveryEntryPoint(t *testing.T) {
	cert, pool := selfSigned(t)
	for _, s := range oddRequire {
		if m, err := ParseMode(s); err != nil || m != ModeRequire {
			t.Errorf("ParseMode(%q) = %q, %v", s, m, err)
		}
		if p, _, err := ParsePolicy(s, "", ""); err != nil || p.Mode != ModeRequire {
			t.Errorf("ParsePolicy(%q) = %+v, %v", s, p, err)
		}
		p := Policy{Mode: Mode(s)}
		if _, err := p.Validate(); err != nil {
			t.Errorf("Validate(%q): %v", s, err)
		}
		if m := p.EffectiveMode(); m != ModeRequire {
			t.Errorf("EffectiveMode(%q) = %q", s, m)
		}
		if r, _, err := ResolvePolicy(p, nil); err != nil || r.Mode != ModeRequire {
			t.Errorf("ResolvePolicy(%q) = %+v, %v", s, r, err)
		}
		t.Setenv("PQTLS_POLICY", s)
		if e, err := PolicyFromEnv(); err != nil || e.Mode != ModeRequire {
			t.Errorf("PolicyFromEnv(%q) = %+v, %v", s, e, err)
		}
		srv, err := ServerConfig(Options{Policy: p, Base: &tls.Config{Certificates: []tls.Certificate{cert}}})
		if err != nil {
			t.Fatalf("ServerConfig(%q): %v", s, err)
		}
		if slices.ContainsFunc(srv.CurvePreferences, func(id tls.CurveID) bool { return !IsHybrid(id) }) {
			t.Errorf("ServerConfig(%q) offers classical groups: %v", s, srv.CurvePreferences)
		}
		classical := &tls.Config{ServerName: "localhost", RootCAs: pool, CurvePreferences: []tls.CurveID{tls.X25519}}
		if _, cerr, _ := loopbackHandshake(t, srv, classical); cerr == nil {
			t.Errorf("ServerConfig(%q) accepted a classical client", s)
		}
		cli, err := ClientConfig(Options{Policy: p})
		if err != nil {
			t.Fatalf("ClientConfig(%q): %v", s, err)
		}
		if slices.ContainsFunc(cli.CurvePreferences, func(id tls.CurveID) bool { return !IsHybrid(id) }) {
			t.Errorf("ClientConfig(%q) offers classical groups: %v", s, cli.CurvePreferences)
		}
	}
	for _, s := range badModes {
		check := func(what string, err error) {
			t.Helper()
			if err == nil {
				t.Errorf("%s(%q): no error", what, s)
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%s(%q): error %v is not ErrInvalidConfig", what, s, err)
			}
			for _, valid := range []string{"prefer", "require", "classical"} {
				if !strings.Contains(err.Error(), valid) {
					t.Errorf("%s(%q): error %q does not list %s", what, s, err, valid)
				}
			}
		}
		_, err := ParseMode(s)
		check("ParseMode", err)
		_, _, err = ParsePolicy(s, "", "")
		check("ParsePolicy", err)
		_, err = Policy{Mode: Mode(s)}.Validate()
		check("Validate", err)
		_, _, err = ResolvePolicy(Policy{Mode: Mode(s)}, nil)
		check("ResolvePolicy", err)
		_, err = ServerConfig(Options{Policy: Policy{Mode: Mode(s)}})
		check("ServerConfig", err)
		_, err = ClientConfig(Options{Policy: Policy{Mode: Mode(s)}})
		check("ClientConfig", err)
		t.Setenv("PQTLS_POLICY", s)
		_, err = PolicyFromEnv()
		check("PolicyFromEnv", err)
	}
}

func TestPolicyFromEnv(t *testing.T) {
	t.Setenv("PQTLS_POLICY", "")
	if p, err := PolicyFromEnv(); err != nil || p.Mode != "" || p.Groups != nil {
		t.Fatalf("empty: %+v %v", p, err)
	}
	t.Setenv("PQTLS_POLICY", " Prefer : X25519MLKEM768, x25519 ")
	p, err := PolicyFromEnv()
	if err != nil || p.Mode != ModePrefer || !slices.Equal(p.Groups, []tls.CurveID{tls.X25519MLKEM768, tls.X25519}) {
		t.Fatalf("prefer with groups: %+v %v", p, err)
	}
	t.Setenv("PQTLS_POLICY", "require:SecP384r1MLKEM1024")
	if p, err = PolicyFromEnv(); err != nil || p.Mode != ModeRequire || !slices.Equal(p.Groups, []tls.CurveID{tls.SecP384r1MLKEM1024}) {
		t.Fatalf("require with group: %+v %v", p, err)
	}
	for _, bad := range []string{"require:x25519", "prefer:nosuchgroup", "prefer:", ":x25519", "require:X25519MLKEM768,X25519MLKEM768"} {
		t.Setenv("PQTLS_POLICY", bad)
		if p, err := PolicyFromEnv(); err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "PQTLS_POLICY") {
			t.Errorf("PQTLS_POLICY=%q: %+v, %v (want an ErrInvalidConfig naming PQTLS_POLICY)", bad, p, err)
		}
	}
}

func TestPolicyFromEnvUnset(t *testing.T) {
	t.Setenv("PQTLS_POLICY", "require") // restored after the test
	if err := unsetenv("PQTLS_POLICY"); err != nil {
		t.Fatal(err)
	}
	if p, err := PolicyFromEnv(); err != nil || p.Mode != "" {
		t.Fatalf("unset: %+v %v", p, err)
	}
	// ServerConfig never reads the environment by itself.
	t.Setenv("PQTLS_POLICY", "require")
	cfg, err := ServerConfig(Options{})
	if err != nil || !slices.Contains(cfg.CurvePreferences, tls.X25519) {
		t.Fatalf("ServerConfig read PQTLS_POLICY implicitly: %v %v", cfg.CurvePreferences, err)
	}
}

func unsetenv(k string) error { return os.Unsetenv(k) }
