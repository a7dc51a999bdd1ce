package wire

import (
	"crypto/tls"
	"fmt"
	"slices"

	"github.com/pqtls/pqtls"
)

// ContentType is a TLS record content type (RFC 8446 section 5.1).
type ContentType uint8

// Record content types.
const (
	ContentChangeCipherSpec ContentType = 20
	ContentAlert            ContentType = 21
	ContentHandshake        ContentType = 22
	ContentApplicationData  ContentType = 23
	ContentHeartbeat        ContentType = 24 // RFC 6520
)

var contentNames = map[ContentType]string{
	ContentChangeCipherSpec: "change_cipher_spec", ContentAlert: "alert", ContentHandshake: "handshake",
	ContentApplicationData: "application_data", ContentHeartbeat: "heartbeat",
}

// String returns the RFC name of the content type.
func (t ContentType) String() string { return enumName(contentNames, t, "content_type(%d)") }

// HandshakeType is a handshake message type (RFC 8446 section 4).
type HandshakeType uint8

// Handshake message types (RFC 8446 section 4 and RFC 5246 section 7.4).
const (
	TypeHelloRequest        HandshakeType = 0
	TypeClientHello         HandshakeType = 1
	TypeServerHello         HandshakeType = 2
	TypeNewSessionTicket    HandshakeType = 4
	TypeEndOfEarlyData      HandshakeType = 5
	TypeEncryptedExtensions HandshakeType = 8
	TypeCertificate         HandshakeType = 11
	TypeServerKeyExchange   HandshakeType = 12
	TypeCertificateRequest  HandshakeType = 13
	TypeServerHelloDone     HandshakeType = 14
	TypeCertificateVerify   HandshakeType = 15
	TypeClientKeyExchange   HandshakeType = 16
	TypeFinished            HandshakeType = 20
	TypeCertificateStatus   HandshakeType = 22
	TypeKeyUpdate           HandshakeType = 24
	TypeMessageHash         HandshakeType = 254
)

var handshakeNames = map[HandshakeType]string{
	TypeHelloRequest: "hello_request", TypeClientHello: "client_hello", TypeServerHello: "server_hello",
	TypeNewSessionTicket: "new_session_ticket", TypeEndOfEarlyData: "end_of_early_data",
	TypeEncryptedExtensions: "encrypted_extensions", TypeCertificate: "certificate",
	TypeServerKeyExchange: "server_key_exchange", TypeCertificateRequest: "certificate_request",
	TypeServerHelloDone: "server_hello_done", TypeCertificateVerify: "certificate_verify",
	TypeClientKeyExchange: "client_key_exchange", TypeFinished: "finished",
	TypeCertificateStatus: "certificate_status", TypeKeyUpdate: "key_update", TypeMessageHash: "message_hash",
}

// String returns the RFC name of the handshake type.
func (t HandshakeType) String() string { return enumName(handshakeNames, t, "handshake_type(%d)") }

// Protocol versions as they appear on the wire.
const (
	VersionSSL30 uint16 = 0x0300
	VersionTLS10 uint16 = tls.VersionTLS10
	VersionTLS11 uint16 = tls.VersionTLS11
	VersionTLS12 uint16 = tls.VersionTLS12
	VersionTLS13 uint16 = tls.VersionTLS13
)

// VersionName returns "TLS 1.3", "TLS 1.2", ... (pqtls.VersionName), "SSL
// 3.0", or the hexadecimal value.
func VersionName(v uint16) string {
	switch v {
	case VersionSSL30:
		return "SSL 3.0"
	case 0:
		return "0x0000"
	}
	return pqtls.VersionName(v)
}

// Extension codepoints (IANA "TLS ExtensionType Values").
const (
	ExtServerName           uint16 = 0     // RFC 6066 section 3
	ExtStatusRequest        uint16 = 5     // RFC 6066 section 8
	ExtSupportedGroups      uint16 = 10    // RFC 8446 section 4.2.7 (RFC 8422 "elliptic_curves")
	ExtECPointFormats       uint16 = 11    // RFC 8422 section 5.1.2
	ExtSignatureAlgorithms  uint16 = 13    // RFC 8446 section 4.2.3
	ExtALPN                 uint16 = 16    // RFC 7301 section 3.1
	ExtSCT                  uint16 = 18    // RFC 6962 section 3.3.1
	ExtPadding              uint16 = 21    // RFC 7685 section 3
	ExtExtendedMasterSecret uint16 = 23    // RFC 7627 section 5.1
	ExtSessionTicket        uint16 = 35    // RFC 5077 section 3.2
	ExtPreSharedKey         uint16 = 41    // RFC 8446 section 4.2.11
	ExtEarlyData            uint16 = 42    // RFC 8446 section 4.2.10
	ExtSupportedVersions    uint16 = 43    // RFC 8446 section 4.2.1
	ExtCookie               uint16 = 44    // RFC 8446 section 4.2.2
	ExtPSKModes             uint16 = 45    // RFC 8446 section 4.2.9
	ExtSignatureAlgsCert    uint16 = 50    // RFC 8446 section 4.2.3
	ExtKeyShare             uint16 = 51    // RFC 8446 section 4.2.8
	ExtRenegotiationInfo    uint16 = 65281 // RFC 5746 section 3.2
)

// PSK key exchange modes (RFC 8446 section 4.2.9).
const (
	PSKModePlain uint8 = 0 // psk_ke
	PSKModeDHE   uint8 = 1 // psk_dhe_ke
)

// Record-layer limits (RFC 8446 section 5.1 and 5.2, RFC 5246 section 6.2).
const (
	// MaxPlaintext is the largest record payload a sender may produce for
	// plaintext records (2^14).
	MaxPlaintext = 1 << 14
	// MaxCiphertext12 is the largest TLS 1.2 ciphertext record payload
	// (2^14 + 2048), the default record size limit of [Reader].
	MaxCiphertext12 = MaxPlaintext + 2048
	// RecordHeaderLen is the size of a record header.
	RecordHeaderLen = 5
	// HandshakeHeaderLen is the size of a handshake message header.
	HandshakeHeaderLen = 4
)

// DefaultCipherSuites13 are the TLS 1.3 cipher suites of RFC 8446 section
// 9.1 that every implementation supports, in the order Go's client offers them.
var DefaultCipherSuites13 = []uint16{
	tls.TLS_AES_128_GCM_SHA256,
	tls.TLS_AES_256_GCM_SHA384,
	tls.TLS_CHACHA20_POLY1305_SHA256,
}

// DefaultCipherSuites12 are TLS 1.0-1.2 cipher suites: ECDHE with ECDSA and
// RSA certificates, AEAD first, then CBC, then plain RSA key exchange so that
// old servers still answer. A probe that needs the server's ECDHE curve (from
// its ServerKeyExchange) should offer only the ECDHE suites.
var DefaultCipherSuites12 = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// DefaultSignatureAlgorithms is a signature_algorithms list that every common
// server certificate satisfies (ECDSA, RSA-PSS, PKCS#1 v1.5, Ed25519).
var DefaultSignatureAlgorithms = []tls.SignatureScheme{
	tls.ECDSAWithP256AndSHA256,
	tls.Ed25519,
	tls.PSSWithSHA256,
	tls.PSSWithSHA384,
	tls.PSSWithSHA512,
	tls.PKCS1WithSHA256,
	tls.PKCS1WithSHA384,
	tls.PKCS1WithSHA512,
	tls.ECDSAWithP384AndSHA384,
	tls.ECDSAWithP521AndSHA512,
	tls.PKCS1WithSHA1,
	tls.ECDSAWithSHA1,
}

// DefaultSignatureAlgorithms13 is the signature_algorithms list of TLS 1.3
// hellos (NewClientHello13): DefaultSignatureAlgorithms plus the ML-DSA
// schemes, the way OpenSSL 3.5 clients offer them, so that a server whose
// only certificate is ML-DSA answers instead of refusing every crafted
// hello with handshake_failure ("no suitable signature algorithm"). ML-DSA
// exists only in TLS 1.3, so TLS 1.2 hellos keep DefaultSignatureAlgorithms.
var DefaultSignatureAlgorithms13 = append(slices.Clone(DefaultSignatureAlgorithms), SchemeMLDSA87, SchemeMLDSA65, SchemeMLDSA44)

// helloRetryRequestRandom is the special ServerHello.random value that marks
// a HelloRetryRequest (RFC 8446 section 4.1.3): SHA-256("HelloRetryRequest").
var helloRetryRequestRandom = [32]byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11,
	0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
	0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// HelloRetryRequestRandom returns the RFC 8446 section 4.1.3 random value that
// identifies a HelloRetryRequest.
func HelloRetryRequestRandom() [32]byte { return helloRetryRequestRandom }

// Downgrade sentinels in the last 8 bytes of ServerHello.random (RFC 8446
// section 4.1.3).
var (
	downgradeTLS12 = []byte("DOWNGRD\x01")
	downgradeTLS11 = []byte("DOWNGRD\x00")
)

// enumName returns the name of v in names, or v formatted with unknown (one
// %d or %x verb) when the table does not name it.
func enumName[T ~uint8 | ~uint16](names map[T]string, v T, unknown string) string {
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf(unknown, v)
}
