package pqtls

import (
	"crypto/mlkem"
	"crypto/tls"
	"strings"
	"testing"
)

func TestParseGroupAliases(t *testing.T) {
	cases := map[string]tls.CurveID{
		"X25519MLKEM768":        tls.X25519MLKEM768,
		"x25519mlkem768":        tls.X25519MLKEM768,
		"x25519_mlkem768":       tls.X25519MLKEM768,
		"0x11ec":                tls.X25519MLKEM768,
		"0x11EC":                tls.X25519MLKEM768,
		"4588":                  tls.X25519MLKEM768,
		"P-256":                 tls.CurveP256,
		"prime256v1":            tls.CurveP256,
		"secp256r1":             tls.CurveP256,
		" X25519 ":              tls.X25519,
		"SecP384r1MLKEM1024":    tls.SecP384r1MLKEM1024,
		"secp256r1_mlkem768":    tls.SecP256r1MLKEM768,
		"MLKEM768":              0x0201,
		"ML-KEM-1024":           0x0202,
		"X25519Kyber768Draft00": 0x6399,
	}
	for in, want := range cases {
		g, err := ParseGroup(in)
		if err != nil {
			t.Errorf("ParseGroup(%q): %v", in, err)
			continue
		}
		if g.ID != want {
			t.Errorf("ParseGroup(%q) = %v, want %#04x", in, g, uint16(want))
		}
	}
}

func TestParseGroupUnknownSuggests(t *testing.T) {
	_, err := ParseGroup("X25519MLKEM786")
	if err == nil || !strings.Contains(err.Error(), "X25519MLKEM768") {
		t.Fatalf("want a suggestion of X25519MLKEM768, got %v", err)
	}
	if _, err := ParseGroup("0x1234"); err == nil || !strings.Contains(err.Error(), "not in the pqtls registry") {
		t.Fatalf("unknown codepoint: got %v", err)
	}
	if _, err := ParseGroupList("x25519,X25519"); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate: got %v", err)
	}
	gs, err := ParseGroupList("X25519MLKEM768:x25519, P-256")
	if err != nil || len(gs) != 3 || gs[2].ID != tls.CurveP256 {
		t.Fatalf("ParseGroupList = %v, %v", gs, err)
	}
}

func TestRegistryMatchesCryptoTLS(t *testing.T) {
	seenLabel := map[string]bool{}
	for _, g := range Groups() {
		if seenLabel[g.Label] {
			t.Errorf("label %s used twice", g.Label)
		}
		seenLabel[g.Label] = true
		if g.Label != strings.ToLower(g.Label) || strings.ContainsAny(g.Label, "- ") {
			t.Errorf("label %q must be lower-case snake case", g.Label)
		}
		if g.GoSupported && g.ID.String() != g.Name && !strings.EqualFold(g.ID.String(), "Curve"+strings.TrimPrefix(g.Name, "secp")) {
			// crypto/tls names P-256 "CurveP256"; hybrids by IANA name.
			if g.Kind == KindHybrid {
				t.Errorf("crypto/tls names %#04x %q, registry says %q", uint16(g.ID), g.ID.String(), g.Name)
			}
		}
	}
	// Key-share sizes against crypto/mlkem.
	x, _ := LookupGroup(tls.X25519MLKEM768)
	if x.ClientShareSize != mlkem.EncapsulationKeySize768+32 || x.ServerShareSize != mlkem.CiphertextSize768+32 {
		t.Errorf("X25519MLKEM768 sizes %d/%d", x.ClientShareSize, x.ServerShareSize)
	}
	p, _ := LookupGroup(tls.SecP384r1MLKEM1024)
	if p.ClientShareSize != 97+mlkem.EncapsulationKeySize1024 || p.ServerShareSize != 97+mlkem.CiphertextSize1024 {
		t.Errorf("SecP384r1MLKEM1024 sizes %d/%d", p.ClientShareSize, p.ServerShareSize)
	}
	if GroupLabel(0x9999) != LabelUnknown || GroupKind(0x9999) != KindUnknown || GroupName(0x9999) != "0x9999" {
		t.Errorf("unknown codepoint handling: %s %s %s", GroupLabel(0x9999), GroupKind(0x9999), GroupName(0x9999))
	}
	d, _ := LookupGroup(0x6399)
	if d.PostQuantum() {
		t.Error("obsolete Kyber draft must not count as post-quantum")
	}
}

// TestGoSupportedNegotiates proves the GoSupported flag: each such group
// completes a real crypto/tls handshake over a pipe.
func TestGoSupportedNegotiates(t *testing.T) {
	cert, pool := selfSigned(t)
	for _, g := range Groups() {
		if !g.GoSupported {
			continue
		}
		t.Run(g.Name, func(t *testing.T) {
			got := pipeHandshake(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13},
				&tls.Config{RootCAs: pool, ServerName: "localhost", CurvePreferences: []tls.CurveID{g.ID}})
			if got.CurveID != g.ID {
				t.Fatalf("negotiated %v, want %v", got.CurveID, g.ID)
			}
		})
	}
}
