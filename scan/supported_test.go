package scan

import (
	"crypto/tls"
	"slices"
	"testing"
)

// TestSupportedGroups: broken TLS 1.3 groups (HRR selected, handshake
// failed) are left out, TLS 1.2 curves the registry knows are appended,
// unknown names are skipped. The exporter's enumeration reports this list.
func TestSupportedGroups(t *testing.T) {
	yes, no := true, false
	r := &Result{
		Groups: []GroupResult{
			{ID: uint16(tls.X25519MLKEM768), Name: "X25519MLKEM768"},
			{ID: uint16(tls.CurveP384), Name: "secp384r1", Confirmed: &no},
			{ID: uint16(tls.X25519), Name: "x25519", Confirmed: &yes},
		},
		TLS12Curves: []string{"secp256r1", "no-such-curve"},
	}
	want := []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}
	if got := r.SupportedGroups(); !slices.Equal(got, want) {
		t.Errorf("SupportedGroups = %v, want %v", got, want)
	}
	var none *MLDSAAuth
	if got := none.Schemes(); got != nil {
		t.Errorf("nil MLDSAAuth: Schemes = %v", got)
	}
	a := &MLDSAAuth{Chains: []MLDSAChain{{Scheme: "mldsa87"}, {Scheme: "mldsa44"}}}
	if got := a.Schemes(); !slices.Equal(got, []string{"mldsa87", "mldsa44"}) {
		t.Errorf("Schemes = %v", got)
	}
}
