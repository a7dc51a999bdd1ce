package scan

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
)

// certInfosDER describes a chain received as DER (the ML-DSA probe decrypts
// it itself); a certificate crypto/x509 cannot parse is described by its
// algorithm OIDs and fingerprint only.
func certInfosDER(ders [][]byte) []CertInfo {
	out := make([]CertInfo, 0, len(ders))
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			sum := sha256.Sum256(der)
			ci := CertInfo{SANs: []string{}, SHA256: hex.EncodeToString(sum[:]), Subject: "unparsed: " + err.Error()}
			if sig, key, err := certOIDs(der); err == nil {
				ci.SignatureAlgorithm, ci.PublicKeyAlgorithm = nameOID(sig), nameOID(key)
				ci.KeyType, ci.PostQuantumSignature = ci.PublicKeyAlgorithm, mldsaLevel(ci.SignatureAlgorithm) > 0
			}
			out = append(out, ci)
			continue
		}
		out = append(out, certInfos([]*x509.Certificate{c})...)
	}
	return out
}

func nameOID(oid string) string {
	if a, ok := mldsaOIDs[oid]; ok {
		return a.name
	}
	return "OID " + oid
}

func certInfos(certs []*x509.Certificate) []CertInfo {
	out := make([]CertInfo, 0, len(certs))
	for _, c := range certs {
		typ, bits := keyInfo(c.PublicKey)
		sigName, keyName := algorithms(c)
		if mldsaLevel(keyName) > 0 {
			typ, bits = keyName, 0
		}
		sans := append([]string{}, c.DNSNames...)
		for _, ip := range c.IPAddresses {
			sans = append(sans, ip.String())
		}
		for _, u := range c.URIs {
			sans = append(sans, u.String())
		}
		sum := sha256.Sum256(c.Raw)
		out = append(out, CertInfo{
			Subject:            c.Subject.String(),
			Issuer:             c.Issuer.String(),
			SANs:               sans,
			KeyType:            typ,
			KeyBits:            bits,
			SignatureAlgorithm: sigName,
			PublicKeyAlgorithm: keyName,
			// Only ML-DSA counts: the one post-quantum signature TLS 1.3
			// has codepoints for (draft-ietf-tls-mldsa).
			PostQuantumSignature: mldsaLevel(sigName) > 0,
			NotBefore:            c.NotBefore.UTC(),
			NotAfter:             c.NotAfter.UTC(),
			SerialNumber:         c.SerialNumber.Text(16),
			SHA256:               hex.EncodeToString(sum[:]),
		})
	}
	return out
}

func keyInfo(k any) (string, int) {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name, k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	}
	return fmt.Sprintf("%T", k), 0
}
