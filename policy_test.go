package pqtls

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/testpeer"
)

func TestPolicyValidate(t *testing.T) {
	cases := []struct {
		name     string
		p        Policy
		wantErr  string // substring; empty = no error
		wantWarn string // substring; empty = no warning
	}{
		{name: "zero value", p: Policy{}},
		{name: "require default", p: Policy{Mode: ModeRequire}},
		{name: "require with classical", p: Policy{Mode: ModeRequire, Groups: []tls.CurveID{tls.X25519MLKEM768, tls.X25519}}, wantErr: "x25519"},
		{name: "require tls12 min", p: Policy{Mode: ModeRequire, MinVersion: tls.VersionTLS12}, wantErr: "TLS 1.3 as the minimum"},
		{name: "require tls12 max", p: Policy{Mode: ModeRequire, MaxVersion: tls.VersionTLS12, MinVersion: tls.VersionTLS12}, wantErr: "needs TLS 1.3"},
		{name: "prefer without hybrid", p: Policy{Groups: []tls.CurveID{tls.X25519, tls.CurveP256}}, wantWarn: "never negotiates post-quantum"},
		{name: "prefer tls12 allowed, no warning: it is the default", p: Policy{MinVersion: tls.VersionTLS12}},
		{name: "prefer max 1.2", p: Policy{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}, wantWarn: "never negotiates post-quantum"},
		{name: "classical with hybrid", p: Policy{Mode: ModeClassical, Groups: []tls.CurveID{tls.X25519MLKEM768}}, wantErr: "classical groups only"},
		{name: "go unsupported group", p: Policy{Groups: []tls.CurveID{0x0201}}, wantErr: "cannot be negotiated by Go"},
		{name: "unknown group", p: Policy{Groups: []tls.CurveID{0x4242}}, wantErr: "not in the pqtls registry"},
		{name: "duplicate", p: Policy{Groups: []tls.CurveID{tls.X25519, tls.X25519}}, wantErr: "twice"},
		{name: "min above max", p: Policy{MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS12}, wantErr: "above maximum"},
		{name: "tls 1.0", p: Policy{MinVersion: tls.VersionTLS10}, wantErr: "not allowed"},
		{name: "bad mode", p: Policy{Mode: "strict"}, wantErr: "unknown policy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			warns, err := tc.p.Validate()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			joined := strings.Join(warns, "\n")
			if tc.wantWarn == "" && tc.wantErr == "" && joined != "" {
				t.Fatalf("unexpected warnings: %s", joined)
			}
			if tc.wantWarn != "" && !strings.Contains(joined, tc.wantWarn) {
				t.Fatalf("warnings %q, want one containing %q", joined, tc.wantWarn)
			}
		})
	}
}

func TestPolicyDefaults(t *testing.T) {
	// prefer is Go's default set for this toolchain: never narrower than
	// plain crypto/tls.
	goDefault := []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}
	if g := (Policy{}).EffectiveGroups(); !slices.Equal(g, goDefault) {
		t.Errorf("prefer default %v", g)
	}
	if g := (Policy{Mode: ModeRequire}).EffectiveGroups(); slices.ContainsFunc(g, func(id tls.CurveID) bool { return !IsHybrid(id) }) {
		t.Errorf("require default offers a classical group: %v", g)
	}
	if g := (Policy{Mode: ModeClassical}).EffectiveGroups(); slices.ContainsFunc(g, IsHybrid) {
		t.Errorf("classical default offers a hybrid: %v", g)
	}
	// prefer and classical default to TLS 1.2 (Go's default), require to 1.3.
	if v := (Policy{}).EffectiveMinVersion(); v != tls.VersionTLS12 {
		t.Errorf("prefer default min version %x", v)
	}
	if v := (Policy{Mode: ModeClassical}).EffectiveMinVersion(); v != tls.VersionTLS12 {
		t.Errorf("classical default min version %x", v)
	}
	if v := (Policy{Mode: ModeRequire}).EffectiveMinVersion(); v != tls.VersionTLS13 {
		t.Errorf("require default min version %x", v)
	}
	// The returned slices are copies: changing them cannot change the defaults.
	g := (Policy{}).EffectiveGroups()
	g[0] = tls.X25519
	d := DefaultGroups(ModePrefer)
	d[0] = tls.X25519
	if !slices.Equal(DefaultGroups(ModePrefer), goDefault) || !slices.Equal((Policy{}).EffectiveGroups(), goDefault) {
		t.Error("EffectiveGroups or DefaultGroups leaked the default slice")
	}
	if g := DefaultGroups(ModeRequire); !slices.Equal(g, []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024}) {
		t.Errorf("require default %v", g)
	}
	if g := DefaultGroups(ModeClassical); !slices.Equal(g, []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}) {
		t.Errorf("classical default %v", g)
	}
	if g := DefaultGroups("REQUIRE "); !slices.Equal(g, DefaultGroups(ModeRequire)) {
		t.Errorf("DefaultGroups(\"REQUIRE \") = %v", g)
	}
}

// The deprecated exported slices are no longer read: assigning them cannot
// make a later prefer configuration classical.
func TestDeprecatedDefaultVarsUnread(t *testing.T) {
	saved := DefaultPreferGroups
	savedReq := DefaultRequireGroups
	t.Cleanup(func() { DefaultPreferGroups, DefaultRequireGroups = saved, savedReq })
	DefaultPreferGroups = []tls.CurveID{tls.X25519}
	DefaultRequireGroups = []tls.CurveID{tls.X25519}
	cfg, err := ServerConfig(Options{})
	if err != nil || !slices.Contains(cfg.CurvePreferences, tls.X25519MLKEM768) {
		t.Fatalf("prefer after assigning DefaultPreferGroups: %v %v", cfg.CurvePreferences, err)
	}
	cfg, err = ClientConfig(Options{Policy: Policy{Mode: ModeRequire}})
	if err != nil || slices.Contains(cfg.CurvePreferences, tls.X25519) {
		t.Fatalf("require after assigning DefaultRequireGroups: %v %v", cfg.CurvePreferences, err)
	}
}

// prefer never breaks a working link: versions and groups follow the base
// or Go's defaults; a classical-only base list gets the hybrids added.
func TestPreferKeepsWorkingLinks(t *testing.T) {
	logs := &testpeer.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	// gosec-style base: TLS 1.2 minimum, classical curves.
	base := &tls.Config{MinVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.CurveP256, tls.CurveP384}}
	cfg, err := ServerConfig(Options{Base: base, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	want := []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.CurveP256, tls.CurveP384}
	if !slices.Equal(cfg.CurvePreferences, want) || cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("prefer on a classical base: groups %v min %x, want %v and TLS 1.2", cfg.CurvePreferences, cfg.MinVersion, want)
	}
	if l := logs.String(); !strings.Contains(l, "X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024") || strings.Contains(l, "TLS 1.2 is allowed") {
		t.Fatalf("warning should name the added hybrids and not warn about the TLS 1.2 default: %s", l)
	}
	if len(base.CurvePreferences) != 2 {
		t.Fatal("Base modified")
	}
	// A P-384-only peer works against default prefer, both directions.
	cert, pool := selfSigned(t)
	srv, err := ServerConfig(Options{Base: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	p384 := &tls.Config{RootCAs: pool, ServerName: "localhost", CurvePreferences: []tls.CurveID{tls.CurveP384}}
	if cs := pipeHandshake(t, srv, p384); cs.CurveID != tls.CurveP384 {
		t.Fatalf("P-384 client: %s", GroupName(cs.CurveID))
	}
	cli, err := ClientConfig(Options{Base: &tls.Config{RootCAs: pool, ServerName: "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	p384srv := &tls.Config{Certificates: []tls.Certificate{cert}, CurvePreferences: []tls.CurveID{tls.CurveP384}, MaxVersion: tls.VersionTLS12}
	if cs := pipeHandshake(t, p384srv, cli); cs.CurveID != tls.CurveP384 || cs.Version != tls.VersionTLS12 {
		t.Fatalf("client vs TLS 1.2 P-384 server: %s %s", VersionName(cs.Version), GroupName(cs.CurveID))
	}
	// require: a gosec base's 1.2 minimum is raised with a warning; an
	// explicit 1.2 minimum stays an error.
	logs.Reset()
	cfg, err = ServerConfig(Options{Policy: Policy{Mode: ModeRequire}, Base: &tls.Config{MinVersion: tls.VersionTLS12}, Logger: logger})
	if err != nil || cfg.MinVersion != tls.VersionTLS13 || !strings.Contains(logs.String(), "raised to TLS 1.3") {
		t.Fatalf("require on a 1.2 base: %v %x %s", err, cfg.MinVersion, logs.String())
	}
	if _, err := ServerConfig(Options{Policy: Policy{Mode: ModeRequire, MinVersion: tls.VersionTLS12}}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("require with explicit 1.2: %v", err)
	}
}

func TestParsePolicy(t *testing.T) {
	p, warns, err := ParsePolicy("REQUIRE", "SecP384r1MLKEM1024, x25519_mlkem768", "")
	if err != nil || len(warns) != 0 {
		t.Fatalf("ParsePolicy: %v %v", err, warns)
	}
	if p.Mode != ModeRequire || !slices.Equal(p.Groups, []tls.CurveID{tls.SecP384r1MLKEM1024, tls.X25519MLKEM768}) {
		t.Fatalf("got %+v", p)
	}
	if _, _, err := ParsePolicy("prefer", "", "1.1"); err == nil {
		t.Fatal("TLS 1.1 accepted")
	}
	if _, _, err := ParsePolicy("require", "x25519", ""); err == nil {
		t.Fatal("require with only x25519 accepted")
	}
	if s := p.String(); s != "require [SecP384r1MLKEM1024 X25519MLKEM768] TLS 1.3" {
		t.Fatalf("String() = %q", s)
	}
}

func TestDisabledGroupsFromGODEBUG(t *testing.T) {
	t.Setenv("GODEBUG", "tlsmlkem=0")
	if d := DisabledGroups(); !slices.Equal(d, []tls.CurveID{tls.X25519MLKEM768}) {
		t.Fatalf("DisabledGroups = %v", d)
	}
	p, warns, err := ResolvePolicy(Policy{}, nil)
	if err != nil || !strings.Contains(strings.Join(warns, " "), "GODEBUG") || slices.Contains(p.Groups, tls.X25519MLKEM768) {
		t.Fatalf("prefer under tlsmlkem=0: %+v %v %v", p, warns, err)
	}
	t.Setenv("GODEBUG", "tlsmlkem=0,tlssecpmlkem=0")
	if _, _, err := ResolvePolicy(Policy{Mode: ModeRequire}, nil); err == nil || !strings.Contains(err.Error(), "GODEBUG") {
		t.Fatalf("require under both disabled: %v", err)
	}
}
