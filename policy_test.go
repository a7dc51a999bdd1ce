package pqtls

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
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
		{name: "prefer tls12 allowed", p: Policy{MinVersion: tls.VersionTLS12}, wantWarn: "TLS 1.2 is allowed"},
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
	if g := (Policy{}).EffectiveGroups(); !slices.Equal(g, []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.X25519, tls.CurveP256}) {
		t.Errorf("prefer default %v", g)
	}
	if g := (Policy{Mode: ModeRequire}).EffectiveGroups(); slices.ContainsFunc(g, func(id tls.CurveID) bool { return !IsHybrid(id) }) {
		t.Errorf("require default offers a classical group: %v", g)
	}
	if g := (Policy{Mode: ModeClassical}).EffectiveGroups(); slices.ContainsFunc(g, IsHybrid) {
		t.Errorf("classical default offers a hybrid: %v", g)
	}
	if v := (Policy{}).EffectiveMinVersion(); v != tls.VersionTLS13 {
		t.Errorf("default min version %x", v)
	}
	// The returned slice is a copy: changing it cannot change the defaults.
	g := (Policy{}).EffectiveGroups()
	g[0] = tls.X25519
	if DefaultPreferGroups[0] != tls.X25519MLKEM768 {
		t.Error("EffectiveGroups leaked the default slice")
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
