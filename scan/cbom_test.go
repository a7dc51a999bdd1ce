package scan

import (
	"testing"

	"github.com/pqtls/pqtls"
)

// TestCBOMGroupsFromRegistry: every registry row yields its CBOM algorithm
// component from the registry fields alone (ClassicalBits, NISTLevel,
// Family), with no per-group special case in scan.
func TestCBOMGroupsFromRegistry(t *testing.T) {
	var groups []GroupResult
	for _, g := range pqtls.Groups() {
		groups = append(groups, GroupResult{Name: g.Name, ID: uint16(g.ID), Kind: string(g.Kind)})
	}
	rep := &Report{Endpoints: []Result{{Address: "127.0.0.1:443", Groups: groups}}}
	bom := BuildCBOM(rep)
	byRef := map[string]int{}
	for i, c := range bom.Components {
		byRef[c.BOMRef] = i
	}
	for _, g := range pqtls.Groups() {
		i, ok := byRef[groupRef(uint16(g.ID))]
		if !ok {
			t.Errorf("%s: no CBOM component", g.Name)
			continue
		}
		ap := bom.Components[i].CryptoProperties.AlgorithmProperties
		if ap.ClassicalSecurityLevel != g.ClassicalBits || ap.NISTQuantumSecurityLevel != g.NISTLevel {
			t.Errorf("%s: CBOM classical %d nist %d, registry ClassicalBits %d NISTLevel %d", g.Name, ap.ClassicalSecurityLevel, ap.NISTQuantumSecurityLevel, g.ClassicalBits, g.NISTLevel)
		}
		if g.ClassicalBits == 0 {
			t.Errorf("%s: registry row has no ClassicalBits", g.Name)
		}
		if (g.NISTLevel > 0) != g.PostQuantum() {
			t.Errorf("%s: NISTLevel %d but PostQuantum %v", g.Name, g.NISTLevel, g.PostQuantum())
		}
		wantKEM := g.Family == pqtls.FamilyMLKEM || g.Family == pqtls.FamilyHybrid
		if (ap.Primitive == "kem") != wantKEM {
			t.Errorf("%s (family %s): primitive %q", g.Name, g.Family, ap.Primitive)
		}
	}
}

// TestOfferOrderFFDHELast: finite-field groups are offered after every
// other classical group, found by Family (no codepoint range).
func TestOfferOrderFFDHELast(t *testing.T) {
	order := offerOrder(nil)
	lastEC, firstFF := -1, len(order)
	for i, id := range order {
		g, _ := pqtls.LookupGroup(id)
		switch {
		case g.Family == pqtls.FamilyFFDHE && i < firstFF:
			firstFF = i
		case g.Family == pqtls.FamilyECDH:
			lastEC = i
		}
	}
	if firstFF == len(order) || lastEC > firstFF {
		t.Errorf("ffdhe groups not after the ECDH groups: %v", order)
	}
	for _, id := range classicalCurves(nil) {
		if g, _ := pqtls.LookupGroup(id); g.Family != pqtls.FamilyECDH {
			t.Errorf("classicalCurves lists %s (family %s)", g.Name, g.Family)
		}
	}
}
