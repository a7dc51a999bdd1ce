package pqtls

import (
	"crypto/tls"
	"fmt"
)

// SignatureScheme describes one TLS signature scheme (RFC 8446 section
// 4.2.3): the values of the signature_algorithms extension.
type SignatureScheme struct {
	// ID is the IANA codepoint.
	ID tls.SignatureScheme
	// Name is the IANA name, e.g. "ecdsa_secp256r1_sha256" or "mldsa65".
	Name string
	// MLDSA reports an ML-DSA scheme (FIPS 204; TLS 1.3 only,
	// draft-ietf-tls-mldsa).
	MLDSA bool
}

// signatureSchemes is the table of the schemes pqtls names: RFC 8446
// section 4.2.3, RFC 8422 for the SHA-1 legacy ones, RFC 8734 for the
// brainpool curves (OpenSSL 3.5 offers them), and the ML-DSA
// codepoints of draft-ietf-tls-mldsa (0x0904-0x0906, the values Go 1.27's
// crypto/tls uses).
var signatureSchemes = []SignatureScheme{
	{ID: 0x0201, Name: "rsa_pkcs1_sha1"},
	{ID: 0x0203, Name: "ecdsa_sha1"},
	{ID: 0x0401, Name: "rsa_pkcs1_sha256"},
	{ID: 0x0403, Name: "ecdsa_secp256r1_sha256"},
	{ID: 0x0501, Name: "rsa_pkcs1_sha384"},
	{ID: 0x0503, Name: "ecdsa_secp384r1_sha384"},
	{ID: 0x0601, Name: "rsa_pkcs1_sha512"},
	{ID: 0x0603, Name: "ecdsa_secp521r1_sha512"},
	{ID: 0x0804, Name: "rsa_pss_rsae_sha256"},
	{ID: 0x0805, Name: "rsa_pss_rsae_sha384"},
	{ID: 0x0806, Name: "rsa_pss_rsae_sha512"},
	{ID: 0x0807, Name: "ed25519"},
	{ID: 0x0808, Name: "ed448"},
	{ID: 0x0809, Name: "rsa_pss_pss_sha256"},
	{ID: 0x080a, Name: "rsa_pss_pss_sha384"},
	{ID: 0x080b, Name: "rsa_pss_pss_sha512"},
	{ID: 0x081a, Name: "ecdsa_brainpoolP256r1tls13_sha256"},
	{ID: 0x081b, Name: "ecdsa_brainpoolP384r1tls13_sha384"},
	{ID: 0x081c, Name: "ecdsa_brainpoolP512r1tls13_sha512"},
	{ID: SignatureSchemeMLDSA44, Name: "mldsa44", MLDSA: true},
	{ID: SignatureSchemeMLDSA65, Name: "mldsa65", MLDSA: true},
	{ID: SignatureSchemeMLDSA87, Name: "mldsa87", MLDSA: true},
}

var schemeByID = func() map[tls.SignatureScheme]SignatureScheme {
	m := map[tls.SignatureScheme]SignatureScheme{}
	for _, s := range signatureSchemes {
		m[s.ID] = s
	}
	return m
}()

// The ML-DSA signature schemes (draft-ietf-tls-mldsa; the same codepoints
// as Go 1.27's tls.MLDSA44/65/87). SignatureSchemeMLDSA87 is the one the
// cnsa2 preset needs. internal/wire names them from here.
const (
	SignatureSchemeMLDSA44 tls.SignatureScheme = 0x0904
	SignatureSchemeMLDSA65 tls.SignatureScheme = 0x0905
	SignatureSchemeMLDSA87 tls.SignatureScheme = 0x0906
)

// SignatureSchemeName returns the IANA name of a signature scheme, or its
// hexadecimal value ("0x1234") when pqtls does not name it.
func SignatureSchemeName(id tls.SignatureScheme) string {
	if s, ok := schemeByID[id]; ok {
		return s.Name
	}
	return fmt.Sprintf("0x%04x", uint16(id))
}

// IsMLDSAScheme reports whether id is an ML-DSA signature scheme
// (mldsa44, mldsa65 or mldsa87).
func IsMLDSAScheme(id tls.SignatureScheme) bool { return schemeByID[id].MLDSA }
