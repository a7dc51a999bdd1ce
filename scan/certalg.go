package scan

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// mldsaOIDs name the ML-DSA parameter sets by their algorithm identifier
// (RFC 9881 section 2: id-ml-dsa-44/65/87, the same OID for the signature
// and the public key). Matching the OIDs of the DER lets the scanner name
// ML-DSA certificates with Go 1.26, whose crypto/x509 parses them as
// unknown algorithms; Go 1.27 gives the same names.
var mldsaOIDs = map[string]sigAlg{
	"2.16.840.1.101.3.4.3.17": {"ML-DSA-44", 2},
	"2.16.840.1.101.3.4.3.18": {"ML-DSA-65", 3},
	"2.16.840.1.101.3.4.3.19": {"ML-DSA-87", 5},
}

// sigAlg is a post-quantum signature algorithm: its name and its NIST
// security category (FIPS 204 section 4: 2, 3, 5).
type sigAlg struct {
	name  string
	level int
}

// mldsaLevel returns the NIST category of an ML-DSA algorithm name
// ("ML-DSA-65" is 3), 0 for any other name.
func mldsaLevel(name string) int {
	for _, a := range mldsaOIDs {
		if a.name == name {
			return a.level
		}
	}
	return 0
}

// certOIDs reads the signatureAlgorithm and subjectPublicKeyInfo algorithm
// OIDs of a DER certificate (RFC 5280 section 4.1) with cryptobyte, for
// algorithms crypto/x509 may not know.
func certOIDs(der []byte) (sig, key string, err error) {
	in := cryptobyte.String(der)
	var cert, tbs, sigAlg, spki, keyAlg cryptobyte.String
	var sigOID, keyOID asn1.ObjectIdentifier
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!cert.ReadASN1(&sigAlg, cbasn1.SEQUENCE) || !sigAlg.ReadASN1ObjectIdentifier(&sigOID) {
		return "", "", fmt.Errorf("malformed certificate")
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.SkipASN1(cbasn1.INTEGER) || !tbs.SkipASN1(cbasn1.SEQUENCE) || !tbs.SkipASN1(cbasn1.SEQUENCE) ||
		!tbs.SkipASN1(cbasn1.SEQUENCE) || !tbs.SkipASN1(cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&spki, cbasn1.SEQUENCE) || !spki.ReadASN1(&keyAlg, cbasn1.SEQUENCE) || !keyAlg.ReadASN1ObjectIdentifier(&keyOID) {
		return "", "", fmt.Errorf("malformed tbsCertificate")
	}
	return sigOID.String(), keyOID.String(), nil
}

// algorithms names a certificate's signature and public-key algorithms:
// "ML-DSA-44/65/87" from the OIDs on any Go version, else what crypto/x509
// parsed ("ECDSA-SHA256", "SHA256-RSA"...; "ECDSA P-256", "RSA-2048",
// "Ed25519"), else the OID itself.
func algorithms(c *x509.Certificate) (sig, key string) {
	sigOID, keyOID, err := certOIDs(c.Raw)
	sig, key = c.SignatureAlgorithm.String(), publicKeyAlgorithm(c.PublicKey)
	if a, ok := mldsaOIDs[sigOID]; ok {
		sig = a.name
	} else if c.SignatureAlgorithm == x509.UnknownSignatureAlgorithm && err == nil {
		sig = "OID " + sigOID
	}
	if a, ok := mldsaOIDs[keyOID]; ok {
		key = a.name
	} else if key == "" && err == nil {
		key = "OID " + keyOID
	}
	return sig, key
}

// publicKeyAlgorithm names a parsed classical public key, "" otherwise.
func publicKeyAlgorithm(k any) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return ""
}
