//go:build go1.27

package pqtls

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
)

// mldsaSupported: this binary's crypto/x509 and crypto/tls handle ML-DSA.
const mldsaSupported = true

func isMLDSAKey(c *x509.Certificate) bool { return c.PublicKeyAlgorithm == x509.MLDSA }

// chainIsMLDSA reports whether every certificate the peer sent is signed
// with ML-DSA (ML-DSA-87 only when strict87) and the leaf key is ML-DSA,
// and lists the signature algorithms it saw.
func chainIsMLDSA(cs tls.ConnectionState, strict87 bool) (bool, string) {
	ok := isMLDSAKey(cs.PeerCertificates[0])
	var got []string
	for _, c := range cs.PeerCertificates {
		got = append(got, c.SignatureAlgorithm.String())
		switch c.SignatureAlgorithm {
		case x509.MLDSA87:
		case x509.MLDSA44, x509.MLDSA65:
			ok = ok && !strict87
		default:
			ok = false
		}
	}
	return ok, "leaf key " + cs.PeerCertificates[0].PublicKeyAlgorithm.String() + ", signatures " + strings.Join(got, ", ")
}

func certIsMLDSA(c tls.Certificate) bool {
	leaf := c.Leaf
	if leaf == nil && len(c.Certificate) > 0 {
		leaf, _ = x509.ParseCertificate(c.Certificate[0])
	}
	return leaf != nil && isMLDSAKey(leaf)
}

func localAuthKind(cs tls.ConnectionState) string {
	if len(cs.LocalCertificate) == 0 {
		return ""
	}
	leaf, err := x509.ParseCertificate(cs.LocalCertificate[0])
	if err != nil {
		return ""
	}
	if isMLDSAKey(leaf) {
		return AuthKindMLDSA
	}
	return AuthKindClassical
}
