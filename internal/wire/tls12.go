package wire

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// ServerKeyExchangeECDHE is the ServerECDHParams part of a TLS 1.0-1.2
// ServerKeyExchange for an ECDHE cipher suite (RFC 8422 section 5.4), with its
// signature.
type ServerKeyExchangeECDHE struct {
	// Curve is the named curve (curve_type named_curve(3)).
	Curve tls.CurveID
	// Public is the server's ephemeral public point.
	Public []byte
	// SignatureAlgorithm is the signature scheme (TLS 1.2 only, RFC 5246
	// section 7.4.1.4.1); 0 for TLS 1.0 and 1.1.
	SignatureAlgorithm tls.SignatureScheme
	// Signature over the client and server randoms and the params.
	Signature []byte
}

// ParseServerKeyExchangeECDHE parses a ServerKeyExchange handshake message
// (4-byte header included) of an ECDHE cipher suite. version is the
// negotiated version: TLS 1.2 messages carry a SignatureAndHashAlgorithm
// before the signature, TLS 1.0/1.1 ones do not. Only named curves are
// accepted (explicit curves are deprecated by RFC 8422 section 5.4). The
// message must end exactly after the signature.
func ParseServerKeyExchangeECDHE(msg []byte, version uint16) (*ServerKeyExchangeECDHE, error) {
	body, err := splitHandshake(msg, TypeServerKeyExchange)
	if err != nil {
		return nil, err
	}
	s := cryptobyte.String(body)
	ske := &ServerKeyExchangeECDHE{}
	var curveType uint8
	var curve uint16
	var pub, sig cryptobyte.String
	if !s.ReadUint8(&curveType) {
		return nil, malformed("empty ServerKeyExchange")
	}
	if curveType != 3 {
		return nil, malformed("ServerKeyExchange curve_type %d, only named_curve (3) is supported", curveType)
	}
	// RFC 8422 section 5.4: NamedCurve namedcurve; opaque point <1..2^8-1>.
	if !s.ReadUint16(&curve) || !s.ReadUint8LengthPrefixed(&pub) || len(pub) == 0 {
		return nil, malformed("truncated ServerECDHParams")
	}
	ske.Curve, ske.Public = tls.CurveID(curve), pub
	if version >= VersionTLS12 {
		var alg uint16
		if !s.ReadUint16(&alg) {
			return nil, malformed("ServerKeyExchange without signature algorithm")
		}
		ske.SignatureAlgorithm = tls.SignatureScheme(alg)
	}
	if !s.ReadUint16LengthPrefixed(&sig) || !s.Empty() {
		return nil, malformed("ServerKeyExchange signature is truncated or followed by trailing bytes")
	}
	ske.Signature = sig
	return ske, nil
}

// ParseCertificate12 parses a TLS 1.0-1.2 Certificate handshake message
// (4-byte header included; RFC 5246 section 7.4.2) into the DER certificates
// of certificate_list, leaf first. An empty list is allowed (a client with no
// certificate); an empty certificate entry is not.
func ParseCertificate12(msg []byte) ([][]byte, error) {
	body, err := splitHandshake(msg, TypeCertificate)
	if err != nil {
		return nil, err
	}
	s := cryptobyte.String(body)
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, malformed("Certificate certificate_list length does not match the message")
	}
	var certs [][]byte
	for !list.Empty() {
		var der cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&der) || len(der) == 0 {
			return nil, malformed("Certificate entry %d is truncated or empty", len(certs))
		}
		certs = append(certs, der)
	}
	return certs, nil
}

// ParseCertificateChain12 is [ParseCertificate12] followed by
// x509.ParseCertificate on each entry.
func ParseCertificateChain12(msg []byte) ([]*x509.Certificate, error) {
	ders, err := ParseCertificate12(msg)
	if err != nil {
		return nil, err
	}
	out := make([]*x509.Certificate, 0, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("wire: certificate %d of the chain: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}
