package wire

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/tls"
	"math/big"
	"testing"

	"github.com/pqtls/pqtls"
)

func TestGenerateKeyShareSizes(t *testing.T) {
	for _, g := range pqtls.Groups() {
		ks, err := GenerateKeyShare(g.ID)
		if err != nil {
			t.Errorf("%s: %v", g.Name, err)
			continue
		}
		if ks.Group != g.ID || len(ks.Data) != g.ClientShareSize {
			t.Errorf("%s: %d bytes, registry says %d", g.Name, len(ks.Data), g.ClientShareSize)
		}
		// Real keys: every group crypto/tls negotiates, plus pure ML-KEM-768/1024
		// (crypto/mlkem has them, crypto/tls does not offer them).
		if want := g.GoSupported || g.ID == 0x0201 || g.ID == 0x0202; RealKeyShare(g.ID) != want {
			t.Errorf("%s: RealKeyShare %v, GoSupported %v", g.Name, RealKeyShare(g.ID), g.GoSupported)
		}
	}
	if _, err := GenerateKeyShare(0x7777); err == nil {
		t.Error("unknown codepoint: want an error")
	}
}

// TestGenerateKeyShareLayout checks the draft-ietf-tls-ecdhe-mlkem component
// order by parsing each part with the Go implementation of that component.
func TestGenerateKeyShareLayout(t *testing.T) {
	type part struct {
		size  int
		parse func([]byte) error
	}
	x25519 := part{32, func(b []byte) error { _, err := ecdh.X25519().NewPublicKey(b); return err }}
	p256 := part{65, func(b []byte) error { _, err := ecdh.P256().NewPublicKey(b); return err }}
	p384 := part{97, func(b []byte) error { _, err := ecdh.P384().NewPublicKey(b); return err }}
	p521 := part{133, func(b []byte) error { _, err := ecdh.P521().NewPublicKey(b); return err }}
	mk768 := part{1184, func(b []byte) error { _, err := mlkem.NewEncapsulationKey768(b); return err }}
	mk1024 := part{1568, func(b []byte) error { _, err := mlkem.NewEncapsulationKey1024(b); return err }}
	sm2 := part{65, func(b []byte) error { return sm2OnCurve(b) }}
	cases := map[tls.CurveID][]part{
		tls.X25519: {x25519}, tls.CurveP256: {p256}, tls.CurveP384: {p384}, tls.CurveP521: {p521},
		0x0201: {mk768}, 0x0202: {mk1024},
		tls.X25519MLKEM768:     {mk768, x25519},
		tls.SecP256r1MLKEM768:  {p256, mk768},
		tls.SecP384r1MLKEM1024: {p384, mk1024},
		0x11EE:                 {sm2, mk768},
		0x6399:                 {x25519, mk768},
		0x639A:                 {p256, mk768},
	}
	for g, parts := range cases {
		ks, err := GenerateKeyShare(g)
		if err != nil {
			t.Fatal(err)
		}
		rest := ks.Data
		for i, p := range parts {
			if len(rest) < p.size {
				t.Fatalf("%s: part %d truncated", pqtls.GroupName(g), i)
			}
			if err := p.parse(rest[:p.size]); err != nil {
				t.Errorf("%s: part %d: %v", pqtls.GroupName(g), i, err)
			}
			rest = rest[p.size:]
		}
		if len(rest) != 0 {
			t.Errorf("%s: %d bytes left over", pqtls.GroupName(g), len(rest))
		}
		// Swapping the components must break the parse for the hybrids,
		// so the check above really tests the order.
		if len(parts) == 2 && parts[0].size != parts[1].size {
			swapped := append(append([]byte{}, ks.Data[parts[0].size:]...), ks.Data[:parts[0].size]...)
			if parts[0].parse(swapped[:parts[0].size]) == nil && parts[1].parse(swapped[parts[0].size:]) == nil {
				t.Errorf("%s: swapped layout also parses", pqtls.GroupName(g))
			}
		}
	}
}

func sm2OnCurve(b []byte) error {
	if len(b) != 65 || b[0] != 4 {
		return malformed("not an uncompressed point")
	}
	x, y := new(big.Int).SetBytes(b[1:33]), new(big.Int).SetBytes(b[33:])
	lhs := new(big.Int).Exp(y, big.NewInt(2), sm2P)
	rhs := new(big.Int).Exp(x, big.NewInt(3), sm2P)
	rhs.Sub(rhs, new(big.Int).Mul(x, big.NewInt(3)))
	rhs.Add(rhs, sm2B)
	rhs.Mod(rhs, sm2P)
	if lhs.Cmp(rhs) != 0 || x.Cmp(sm2P) >= 0 || y.Cmp(sm2P) >= 0 {
		return malformed("point not on the SM2 curve")
	}
	return nil
}

// TestSM2Constants checks the curve constants against the standard base point
// (GB/T 32918.5), so the on-curve check above is not circular.
func TestSM2Constants(t *testing.T) {
	gx, _ := new(big.Int).SetString("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7", 16)
	gy, _ := new(big.Int).SetString("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0", 16)
	g := make([]byte, 65)
	g[0] = 4
	gx.FillBytes(g[1:33])
	gy.FillBytes(g[33:])
	if err := sm2OnCurve(g); err != nil {
		t.Fatal(err)
	}
	g[64] ^= 1
	if sm2OnCurve(g) == nil {
		t.Fatal("a corrupted point passes the on-curve check")
	}
}

func TestMLKEM512Shape(t *testing.T) {
	ks, err := GenerateKeyShare(0x0200)
	if err != nil {
		t.Fatal(err)
	}
	// FIPS 203 section 7.2 modulus check: every 12-bit coefficient < q.
	for i := 0; i+3 <= 768; i += 3 {
		a := uint16(ks.Data[i]) | uint16(ks.Data[i+1]&0x0f)<<8
		b := uint16(ks.Data[i+1]>>4) | uint16(ks.Data[i+2])<<4
		if a >= 3329 || b >= 3329 {
			t.Fatalf("coefficient at byte %d not reduced: %d %d", i, a, b)
		}
	}
}

func TestFFDHEShareBelowPrime(t *testing.T) {
	for g := tls.CurveID(0x0100); g <= 0x0104; g++ {
		ks, err := GenerateKeyShare(g)
		if err != nil {
			t.Fatal(err)
		}
		// A perfect square below 2^(bits-2), so below every RFC 7919 prime.
		y := new(big.Int).SetBytes(ks.Data)
		r := new(big.Int).Sqrt(y)
		if ks.Data[0]&0xc0 != 0 || new(big.Int).Mul(r, r).Cmp(y) != 0 || y.BitLen() < 8*len(ks.Data)-4 {
			t.Errorf("%s share is not a large square below the prime", pqtls.GroupName(g))
		}
	}
}

// Key shares are generated by family: every family in the registry has a
// generator, and which shares are real follows the registry's components.
func TestKeyShareGeneratorPerFamily(t *testing.T) {
	for _, g := range pqtls.Groups() {
		if _, ok := shareGenerators[g.Family]; !ok {
			t.Errorf("%s: no generator for family %q", g.Name, g.Family)
		}
	}
	real := map[tls.CurveID]bool{tls.X25519: true, tls.CurveP256: true, tls.CurveP384: true, tls.CurveP521: true, 0x0201: true, 0x0202: true,
		tls.X25519MLKEM768: true, tls.SecP256r1MLKEM768: true, tls.SecP384r1MLKEM1024: true}
	for _, g := range pqtls.Groups() {
		if RealKeyShare(g.ID) != real[g.ID] {
			t.Errorf("RealKeyShare(%s) = %v", g.Name, RealKeyShare(g.ID))
		}
	}
}
