package wire

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"math/big"

	"github.com/pqtls/pqtls"
)

// KeyShare is one KeyShareEntry of a key_share extension (RFC 8446 section
// 4.2.8): a named group and its key_exchange bytes.
type KeyShare struct {
	Group tls.CurveID
	Data  []byte
}

// RealKeyShare reports whether [GenerateKeyShare] produces a genuine public
// key for group, from a private key generated with crypto/ecdh or
// crypto/mlkem: x25519, secp256r1/384/521, MLKEM768, MLKEM1024 and the
// hybrids made of those (X25519MLKEM768, SecP256r1MLKEM768,
// SecP384r1MLKEM1024). For the other registered groups it produces a
// well-formed value of the right size (see GenerateKeyShare) whose private
// key nobody holds; the obsolete Kyber drafts are never real.
func RealKeyShare(group tls.CurveID) bool {
	g, ok := pqtls.LookupGroup(group)
	if !ok || g.Kind == pqtls.KindDraft {
		return false
	}
	parts := g.Components
	if parts == nil {
		parts = []tls.CurveID{group}
	}
	for _, id := range parts {
		if _, ok := realShares[id]; !ok {
			return false
		}
	}
	return true
}

// realShares generate genuine public keys, by codepoint (ML-KEM-768
// 0x0201, ML-KEM-1024 0x0202).
var realShares = map[tls.CurveID]func() ([]byte, error){
	tls.X25519:    func() ([]byte, error) { return ecdhPublic(ecdh.X25519()) },
	tls.CurveP256: func() ([]byte, error) { return ecdhPublic(ecdh.P256()) },
	tls.CurveP384: func() ([]byte, error) { return ecdhPublic(ecdh.P384()) },
	tls.CurveP521: func() ([]byte, error) { return ecdhPublic(ecdh.P521()) },
	0x0201:        mlkem768Public,
	0x0202:        mlkem1024Public,
}

// componentShares are the parts without a Go implementation: curveSM2
// (0x0029, RFC 8998) and ML-KEM-512 (0x0200).
var componentShares = map[tls.CurveID]func() ([]byte, error){
	0x0029: sm2Point,
	0x0200: func() ([]byte, error) { return mlkemLikeKey(2), nil },
}

// shareGenerators build a key share by group family (pqtls.Group.Family):
// adding a group of a known family needs no code here.
var shareGenerators = map[pqtls.Family]func(g pqtls.Group) ([]byte, error){
	pqtls.FamilyECDH:  componentShare,
	pqtls.FamilyMLKEM: componentShare,
	pqtls.FamilyFFDHE: func(g pqtls.Group) ([]byte, error) { return ffdheShare(g.ClientShareSize), nil },
	pqtls.FamilyHybrid: func(g pqtls.Group) ([]byte, error) {
		var out []byte
		for _, id := range g.Components {
			part, err := componentShare(pqtls.Group{ID: id})
			if err != nil {
				return nil, err
			}
			out = append(out, part...)
		}
		return out, nil
	},
}

// componentShare is a genuine key where Go has one, a well-formed value
// otherwise, else (x448) random bytes of the registered size.
func componentShare(g pqtls.Group) ([]byte, error) {
	if f, ok := realShares[g.ID]; ok {
		return f()
	}
	if f, ok := componentShares[g.ID]; ok {
		return f()
	}
	if r, ok := pqtls.LookupGroup(g.ID); ok && r.ClientShareSize > 0 {
		b := make([]byte, r.ClientShareSize)
		rand.Read(b)
		return b, nil
	}
	return nil, fmt.Errorf("no key share generator for codepoint %#04x", uint16(g.ID))
}

// GenerateKeyShare returns a client key_share entry for group with a fresh
// key; the private key is discarded, since the exchanges this package drives
// stop at the ServerHello. Layouts follow draft-ietf-tls-ecdhe-mlkem section
// 4.1: X25519MLKEM768 is the ML-KEM-768 encapsulation key followed by the
// X25519 key; SecP256r1MLKEM768 and SecP384r1MLKEM1024 put the uncompressed
// ECDH point first, then the ML-KEM key. EC points are uncompressed (RFC 8446
// section 4.2.8.2).
//
// Groups without a Go implementation get well-formed values whose private
// key nobody knows, sized by pqtls.Group.ClientShareSize: MLKEM512 a
// FIPS 203 encapsulation key whose coefficients pass the modulus check;
// curveSM2MLKEM768 a point on the SM2 curve followed by an ML-KEM-768 key; the
// obsolete Kyber drafts a classical key followed by an ML-KEM-768 key (the
// Kyber768 public key encoding is the same); x448 random bytes; ffdhe* the square of a
// random number, which lies in the prime-order subgroup (RFC 7919). Codepoints outside the registry are
// an error: build the KeyShare yourself.
func GenerateKeyShare(group tls.CurveID) (KeyShare, error) {
	data, err := keyShareData(group)
	if err != nil {
		return KeyShare{}, fmt.Errorf("wire: key share for %s: %w", pqtls.GroupName(group), err)
	}
	return KeyShare{Group: group, Data: data}, nil
}

// GenerateKeyShares calls [GenerateKeyShare] for each group, in order.
func GenerateKeyShares(groups ...tls.CurveID) ([]KeyShare, error) {
	out := make([]KeyShare, 0, len(groups))
	for _, g := range groups {
		ks, err := GenerateKeyShare(g)
		if err != nil {
			return nil, err
		}
		out = append(out, ks)
	}
	return out, nil
}

func ecdhPublic(c ecdh.Curve) ([]byte, error) {
	k, err := c.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return k.PublicKey().Bytes(), nil
}

func mlkem768Public() ([]byte, error) {
	k, err := mlkem.GenerateKey768()
	if err != nil {
		return nil, err
	}
	return k.EncapsulationKey().Bytes(), nil
}

func mlkem1024Public() ([]byte, error) {
	k, err := mlkem.GenerateKey1024()
	if err != nil {
		return nil, err
	}
	return k.EncapsulationKey().Bytes(), nil
}

func keyShareData(group tls.CurveID) ([]byte, error) {
	g, ok := pqtls.LookupGroup(group)
	if !ok {
		return nil, fmt.Errorf("codepoint %#04x is not in the registry; build wire.KeyShare{Group, Data} yourself", uint16(group))
	}
	gen, ok := shareGenerators[g.Family]
	if !ok {
		return nil, fmt.Errorf("no key share generator for family %q of %s: add one to shareGenerators", g.Family, g.Name)
	}
	return gen(g)
}

// mlkemLikeKey returns a FIPS 203 encapsulation key layout for k polynomials
// (ByteEncode12 of coefficients below q = 3329, then a 32-byte seed), which
// passes the encapsulation-key modulus check of FIPS 203 section 7.2.
func mlkemLikeKey(k int) []byte {
	const q = 3329
	out := make([]byte, 0, 384*k+32)
	var rb [2]byte
	coeff := func() uint16 {
		for {
			rand.Read(rb[:])
			if v := (uint16(rb[0]) | uint16(rb[1])<<8) & 0x0fff; v < q {
				return v
			}
		}
	}
	for i := 0; i < 256*k; i += 2 {
		a, b := coeff(), coeff()
		out = append(out, byte(a), byte(a>>8)|byte(b<<4), byte(b>>4))
	}
	seed := make([]byte, 32)
	rand.Read(seed)
	return append(out, seed...)
}

// ffdheShare returns y = s^2 for a random s of 8*size/2-1 bits, big-endian
// in size bytes. Every RFC 7919 prime p is a safe prime above 2^(8*size-1), so
// y is in 1 < y < p-1 and, being a square, in the prime-order subgroup:
// it passes the peer checks of RFC 7919 section 5.1 (and OpenSSL's y^q = 1
// check) without the prime being known here.
func ffdheShare(size int) []byte {
	bits := 8*size/2 - 1
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
	if err != nil || s.Sign() == 0 {
		s = big.NewInt(3)
	}
	s.SetBit(s, bits-1, 1) // keep y far from the small values peers reject
	return new(big.Int).Mul(s, s).FillBytes(make([]byte, size))
}

// SM2 curve (GB/T 32918.5, RFC 8998 section 2): y^2 = x^3 - 3x + b mod p.
var (
	sm2P, _ = new(big.Int).SetString("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
	sm2B, _ = new(big.Int).SetString("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)
)

// sm2Point returns an uncompressed point on the SM2 curve with an unknown
// discrete logarithm: a random x for which x^3 - 3x + b is a square. The
// cofactor is 1, so every curve point is in the prime-order group.
func sm2Point() ([]byte, error) {
	exp := new(big.Int).Add(sm2P, big.NewInt(1))
	exp.Rsh(exp, 2) // p = 3 mod 4: sqrt(z) = z^((p+1)/4)
	for range 256 {
		x, err := rand.Int(rand.Reader, sm2P)
		if err != nil {
			return nil, err
		}
		rhs := new(big.Int).Exp(x, big.NewInt(3), sm2P)
		rhs.Sub(rhs, new(big.Int).Mul(x, big.NewInt(3)))
		rhs.Add(rhs, sm2B)
		rhs.Mod(rhs, sm2P)
		y := new(big.Int).Exp(rhs, exp, sm2P)
		if new(big.Int).Exp(y, big.NewInt(2), sm2P).Cmp(rhs) != 0 {
			continue
		}
		out := make([]byte, 65)
		out[0] = 4
		x.FillBytes(out[1:33])
		y.FillBytes(out[33:])
		return out, nil
	}
	return nil, fmt.Errorf("no SM2 point found")
}
