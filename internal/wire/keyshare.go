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

// Group codepoints this file needs that crypto/tls does not name.
const (
	groupMLKEM512       tls.CurveID = 0x0200
	groupMLKEM768       tls.CurveID = 0x0201
	groupMLKEM1024      tls.CurveID = 0x0202
	groupSM2MLKEM768    tls.CurveID = 0x11EE
	groupX25519Kyber768 tls.CurveID = 0x6399
	groupP256Kyber768   tls.CurveID = 0x639A
	groupFFDHEFirst     tls.CurveID = 0x0100
	groupFFDHELast      tls.CurveID = 0x0104
)

// RealKeyShare reports whether [GenerateKeyShare] produces a genuine public
// key for group, from a private key generated with crypto/ecdh or
// crypto/mlkem: x25519, secp256r1/384/521, MLKEM768, MLKEM1024 and the
// hybrids X25519MLKEM768, SecP256r1MLKEM768 and SecP384r1MLKEM1024. For the
// other registered groups it produces a well-formed value of the right size
// (see GenerateKeyShare) whose private key nobody holds.
func RealKeyShare(group tls.CurveID) bool {
	switch group {
	case tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521, groupMLKEM768, groupMLKEM1024,
		tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024:
		return true
	}
	return false
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

func concat(parts ...func() ([]byte, error)) ([]byte, error) {
	var out []byte
	for _, p := range parts {
		b, err := p()
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

func keyShareData(group tls.CurveID) ([]byte, error) {
	x25519 := func() ([]byte, error) { return ecdhPublic(ecdh.X25519()) }
	p256 := func() ([]byte, error) { return ecdhPublic(ecdh.P256()) }
	p384 := func() ([]byte, error) { return ecdhPublic(ecdh.P384()) }
	switch group {
	case tls.X25519:
		return x25519()
	case tls.CurveP256:
		return p256()
	case tls.CurveP384:
		return p384()
	case tls.CurveP521:
		return ecdhPublic(ecdh.P521())
	case groupMLKEM768:
		return mlkem768Public()
	case groupMLKEM1024:
		return mlkem1024Public()
	case tls.X25519MLKEM768:
		return concat(mlkem768Public, x25519)
	case tls.SecP256r1MLKEM768:
		return concat(p256, mlkem768Public)
	case tls.SecP384r1MLKEM1024:
		return concat(p384, mlkem1024Public)
	case groupX25519Kyber768:
		return concat(x25519, mlkem768Public)
	case groupP256Kyber768:
		return concat(p256, mlkem768Public)
	case groupSM2MLKEM768:
		return concat(sm2Point, mlkem768Public)
	case groupMLKEM512:
		return mlkemLikeKey(2), nil
	}
	g, ok := pqtls.LookupGroup(group)
	if !ok || g.ClientShareSize <= 0 {
		return nil, fmt.Errorf("codepoint %#04x has no known key share size; build wire.KeyShare{Group, Data} yourself", uint16(group))
	}
	b := make([]byte, g.ClientShareSize)
	if group >= groupFFDHEFirst && group <= groupFFDHELast {
		return ffdheShare(len(b)), nil
	}
	rand.Read(b)
	return b, nil
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
