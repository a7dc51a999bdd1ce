package pqtls

import (
	"crypto/tls"
	"slices"
	"testing"
)

// Every registry row is complete: adding a group means filling every field
// (and a key-share generator in internal/wire for a new family).
func TestRegistryRowsComplete(t *testing.T) {
	families := []Family{FamilyECDH, FamilyFFDHE, FamilyMLKEM, FamilyHybrid}
	for _, g := range Groups() {
		if g.Name == "" || g.Label == "" || g.Kind == "" || g.ClientShareSize <= 0 || g.ServerShareSize <= 0 {
			t.Errorf("%#04x: name, label, kind or share sizes missing: %+v", uint16(g.ID), g)
		}
		if !slices.Contains(families, g.Family) {
			t.Errorf("%s: family %q", g.Name, g.Family)
		}
		if g.ClassicalBits < 100 {
			t.Errorf("%s: classical security bits %d", g.Name, g.ClassicalBits)
		}
		pq := g.Kind == KindHybrid || g.Kind == KindPQ
		if pq != (g.NISTLevel > 0) || !slices.Contains([]int{0, 1, 3, 5}, g.NISTLevel) {
			t.Errorf("%s (%s): NIST level %d", g.Name, g.Kind, g.NISTLevel)
		}
		if (g.Family == FamilyHybrid) != (len(g.Components) == 2) {
			t.Errorf("%s: family %s with components %v", g.Name, g.Family, g.Components)
		}
		if (g.Kind == KindHybrid || g.Kind == KindDraft) != (g.Family == FamilyHybrid) {
			t.Errorf("%s: kind %s, family %s", g.Name, g.Kind, g.Family)
		}
		if g.GoSupported != (g.GoVersion != "") {
			t.Errorf("%s: GoSupported %v, GoVersion %q", g.Name, g.GoSupported, g.GoVersion)
		}
		if g.GODEBUG != "" && (!g.GoSupported || !g.PostQuantum()) {
			t.Errorf("%s: GODEBUG %q on a group Go does not negotiate as post-quantum", g.Name, g.GODEBUG)
		}
	}
	// The GODEBUG keys are what DisabledGroups reads.
	t.Setenv("GODEBUG", "tlssecpmlkem=0")
	if d := DisabledGroups(); !slices.Equal(d, []tls.CurveID{tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024}) {
		t.Errorf("DisabledGroups under tlssecpmlkem=0: %v", d)
	}
}
