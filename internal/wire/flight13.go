package wire

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"hash"
	"net"
	"slices"

	"github.com/pqtls/pqtls"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/cryptobyte"
)

// ML-DSA TLS 1.3 signature schemes: the root signature scheme table's
// codepoints (draft-ietf-tls-mldsa, the same as Go 1.27's tls.MLDSA44/65/87).
const (
	SchemeMLDSA44 = pqtls.SignatureSchemeMLDSA44
	SchemeMLDSA65 = pqtls.SignatureSchemeMLDSA65
	SchemeMLDSA87 = pqtls.SignatureSchemeMLDSA87
)

// ServerFlight is the decrypted part of a TLS 1.3 server's first flight,
// up to its CertificateVerify.
type ServerFlight struct {
	// CipherSuite and Group are what the ServerHello selected.
	CipherSuite uint16
	Group       tls.CurveID
	// HelloRetry: the server asked for another key share first.
	HelloRetry bool
	// Certificates are the DER certificates of the Certificate message,
	// leaf first.
	Certificates [][]byte
	// SignatureScheme is the algorithm of the CertificateVerify.
	SignatureScheme tls.SignatureScheme
}

// suite13 is what the key schedule needs of a TLS 1.3 cipher suite (RFC
// 8446 appendix B.4).
type suite13 struct {
	hash   func() hash.Hash
	keyLen int
	aead   func(key []byte) (cipher.AEAD, error)
}

var suites13 = map[uint16]suite13{
	tls.TLS_AES_128_GCM_SHA256:       {sha256.New, 16, aesGCM},
	tls.TLS_AES_256_GCM_SHA384:       {sha512.New384, 32, aesGCM},
	tls.TLS_CHACHA20_POLY1305_SHA256: {sha256.New, chacha20poly1305.KeySize, chacha20poly1305.New},
}

func aesGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// maxFlightRecords bounds the encrypted records read before the
// CertificateVerify.
const maxFlightRecords = 64

// Handshake13 sends ch with the key shares of kas (their groups must be in
// ch.SupportedGroups, in the same order), follows one HelloRetryRequest
// with a fresh [KeyAgreement] for the group it selects, and, when the
// server answers with a TLS 1.3 ServerHello, derives the server handshake
// traffic key (RFC 8446 section 7.1) and decrypts the flight up to the
// CertificateVerify: the certificate chain and the signature scheme the
// server chose, without completing the handshake (the caller closes
// conn). The ExchangeResult says how the server answered; the flight is
// set only after a ServerHello. The error is for a hello that does not
// marshal and for a ServerHello whose flight cannot be read or decrypted.
func Handshake13(ctx context.Context, conn net.Conn, ch *ClientHello, kas []*KeyAgreement, opts ExchangeOptions) (*ExchangeResult, *ServerFlight, error) {
	c1 := *ch
	c1.KeyShares = nil
	for _, ka := range kas {
		c1.KeyShares = append(c1.KeyShares, ka.Share)
	}
	msg1, err := c1.Marshal()
	if err != nil {
		return nil, nil, err
	}
	res, err := exchangeMsg(ctx, conn, &c1, msg1, opts)
	if err != nil {
		return nil, nil, err
	}
	flight := &ServerFlight{}
	var prefix [][]byte // transcript before the ServerHello
	if res.Outcome == OutcomeHelloRetryRequest {
		hrr := res.ServerHello
		ka, err := NewKeyAgreement(hrr.SelectedGroup)
		if err != nil {
			return res, nil, err
		}
		c2, err := c1.Retry(hrr)
		if err != nil {
			return res, nil, err
		}
		c2.KeyShares = []KeyShare{ka.Share}
		msg2, err := c2.Marshal()
		if err != nil {
			return res, nil, err
		}
		if res, err = exchangeMsg(ctx, conn, c2, msg2, opts); err != nil {
			return nil, nil, err
		}
		if res.Outcome == OutcomeHelloRetryRequest {
			res.Outcome, res.Err = OutcomeMalformed, malformed("second HelloRetryRequest in one handshake")
		}
		kas, flight.HelloRetry = []*KeyAgreement{ka}, true
		prefix = [][]byte{nil, hrr.Raw, msg2} // nil: message_hash(ClientHello1)
	} else {
		prefix = [][]byte{msg1}
	}
	if res.Outcome != OutcomeServerHello {
		return res, nil, nil
	}
	sh := res.ServerHello
	if sh.Version() != VersionTLS13 {
		return res, nil, fmt.Errorf("wire: the server answered %s, not TLS 1.3", VersionName(sh.Version()))
	}
	if err := sh.CheckAgainst(&c1); err != nil && !flight.HelloRetry {
		return res, nil, err
	}
	flight.CipherSuite, flight.Group = sh.CipherSuite, sh.KeyShare.Group
	i := slices.IndexFunc(kas, func(ka *KeyAgreement) bool { return ka.Share.Group == sh.KeyShare.Group })
	if i < 0 {
		return res, nil, malformed("ServerHello key share for %#04x, which was not offered", uint16(sh.KeyShare.Group))
	}
	secret, err := kas[i].SharedSecret(sh.KeyShare.Data)
	if err != nil {
		return res, nil, err
	}
	s, ok := suites13[sh.CipherSuite]
	if !ok {
		return res, nil, malformed("ServerHello cipher suite %#04x is not a TLS 1.3 suite", sh.CipherSuite)
	}
	th := s.hash()
	for _, m := range prefix {
		if m == nil {
			h := s.hash()
			h.Write(msg1)
			th.Write(append([]byte{254, 0, 0, byte(h.Size())}, h.Sum(nil)...))
			continue
		}
		th.Write(m)
	}
	th.Write(sh.Raw)
	aead, iv, err := serverHandshakeKey(s, secret, th.Sum(nil))
	if err != nil {
		return res, nil, err
	}
	return res, flight, readEncryptedFlight(res.Reader, aead, iv, flight)
}

func exchangeMsg(ctx context.Context, conn net.Conn, ch *ClientHello, msg []byte, opts ExchangeOptions) (*ExchangeResult, error) {
	v := ch.RecordVersion
	if v == 0 {
		v = VersionTLS10
	}
	out, err := EncodeRecords(ContentHandshake, v, msg, nil)
	if err != nil {
		return nil, err
	}
	return ExchangeRaw(ctx, conn, out, opts)
}

// serverHandshakeKey runs the key schedule of RFC 8446 section 7.1 up to
// server_handshake_traffic_secret and returns its AEAD and IV (section
// 7.3).
func serverHandshakeKey(s suite13, shared, transcript []byte) (cipher.AEAD, []byte, error) {
	n := s.hash().Size()
	early, err := hkdf.Extract(s.hash, make([]byte, n), nil)
	if err != nil {
		return nil, nil, err
	}
	empty := s.hash().Sum(nil)
	derived, err := expandLabel(s.hash, early, "derived", empty, n)
	if err != nil {
		return nil, nil, err
	}
	hs, err := hkdf.Extract(s.hash, shared, derived)
	if err != nil {
		return nil, nil, err
	}
	sts, err := expandLabel(s.hash, hs, "s hs traffic", transcript, n)
	if err != nil {
		return nil, nil, err
	}
	key, err := expandLabel(s.hash, sts, "key", nil, s.keyLen)
	if err != nil {
		return nil, nil, err
	}
	iv, err := expandLabel(s.hash, sts, "iv", nil, 12)
	if err != nil {
		return nil, nil, err
	}
	aead, err := s.aead(key)
	return aead, iv, err
}

// expandLabel is HKDF-Expand-Label (RFC 8446 section 7.1).
func expandLabel(h func() hash.Hash, secret []byte, label string, context []byte, length int) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint16(uint16(length))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("tls13 " + label)) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(context) })
	info, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return hkdf.Expand(h, secret, string(info), length)
}

// readEncryptedFlight decrypts records (RFC 8446 section 5.2) until the
// CertificateVerify, filling flight.
func readEncryptedFlight(r *Reader, aead cipher.AEAD, iv []byte, flight *ServerFlight) error {
	var hs []byte
	var seq uint64
	for range maxFlightRecords {
		rec, err := r.ReadRecord()
		if err != nil {
			return fmt.Errorf("wire: reading the encrypted server flight: %w", err)
		}
		switch rec.Type {
		case ContentChangeCipherSpec:
			continue
		case ContentAlert:
			a, err := ParseAlert(rec.Payload)
			if err != nil {
				return err
			}
			return fmt.Errorf("wire: server sent alert %s after its ServerHello", a.Description)
		case ContentApplicationData:
		default:
			return malformed("%s record in the encrypted server flight", rec.Type)
		}
		nonce := slices.Clone(iv)
		var sb [8]byte
		binary.BigEndian.PutUint64(sb[:], seq)
		for i := range sb {
			nonce[len(nonce)-8+i] ^= sb[i]
		}
		seq++
		hdr := []byte{byte(ContentApplicationData), byte(rec.Version >> 8), byte(rec.Version), byte(len(rec.Payload) >> 8), byte(len(rec.Payload))}
		pt, err := aead.Open(nil, nonce, rec.Payload, hdr)
		if err != nil {
			return fmt.Errorf("wire: decrypting the server flight: %w", err)
		}
		end := len(pt) - 1
		for end >= 0 && pt[end] == 0 {
			end--
		}
		if end < 0 {
			return malformed("encrypted record without a content type")
		}
		switch ContentType(pt[end]) {
		case ContentAlert:
			a, err := ParseAlert(pt[:end])
			if err != nil {
				return err
			}
			return fmt.Errorf("wire: server sent alert %s after its ServerHello", a.Description)
		case ContentHandshake:
		default:
			return malformed("encrypted %s record in the server flight", ContentType(pt[end]))
		}
		hs = append(hs, pt[:end]...)
		done, rest, err := flightMessages(hs, flight)
		if err != nil || done {
			return err
		}
		hs = rest
	}
	return malformed("no CertificateVerify in the first %d records", maxFlightRecords)
}

// flightMessages consumes the complete handshake messages of hs; done is
// true once the CertificateVerify is read.
func flightMessages(hs []byte, flight *ServerFlight) (done bool, rest []byte, err error) {
	for len(hs) >= HandshakeHeaderLen {
		n := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
		if n > 1<<18 {
			return false, nil, malformed("%s message of %d bytes", HandshakeType(hs[0]), n)
		}
		if len(hs) < HandshakeHeaderLen+n {
			break
		}
		body := cryptobyte.String(hs[HandshakeHeaderLen : HandshakeHeaderLen+n])
		switch HandshakeType(hs[0]) {
		case TypeCertificate:
			certs, err := parseCertificate13(body)
			if err != nil {
				return false, nil, err
			}
			flight.Certificates = certs
		case TypeCertificateVerify:
			var scheme uint16
			if !body.ReadUint16(&scheme) {
				return false, nil, malformed("short CertificateVerify")
			}
			flight.SignatureScheme = tls.SignatureScheme(scheme)
			return true, nil, nil
		case TypeFinished:
			return true, nil, nil // PSK: no certificate
		}
		hs = hs[HandshakeHeaderLen+n:]
	}
	return false, hs, nil
}

// parseCertificate13 returns the cert_data of each CertificateEntry (RFC
// 8446 section 4.4.2).
func parseCertificate13(s cryptobyte.String) ([][]byte, error) {
	var ctx, list cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&ctx) || !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, malformed("bad Certificate message")
	}
	var out [][]byte
	for !list.Empty() {
		var cert, exts cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&cert) || !list.ReadUint16LengthPrefixed(&exts) || len(cert) == 0 {
			return nil, malformed("bad CertificateEntry")
		}
		out = append(out, slices.Clone([]byte(cert)))
	}
	return out, nil
}
