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

func certInfos(certs []*x509.Certificate) []CertInfo {
	out := make([]CertInfo, 0, len(certs))
	for _, c := range certs {
		typ, bits := keyInfo(c.PublicKey)
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
			SignatureAlgorithm: c.SignatureAlgorithm.String(),
			NotBefore:          c.NotBefore.UTC(),
			NotAfter:           c.NotAfter.UTC(),
			SerialNumber:       c.SerialNumber.Text(16),
			SHA256:             hex.EncodeToString(sum[:]),
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
