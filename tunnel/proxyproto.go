package tunnel

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/pqtls/pqtls"
)

// PROXY protocol v2 (HAProxy doc/proxy-protocol.txt, section 2.2).
var proxyV2Signature = []byte{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A}

// TLV types written by the tunnel. Section 2.2.1-2.2.7 of the spec; the SSL
// group sub-type 0x26 is PP2_SUBTYPE_SSL_GROUP as HAProxy defines it (a
// US-ASCII group name). The peer identity has no registered type: the tunnel
// uses PP2TypePeerIdentity from the custom range 0xE0-0xEF.
const (
	PP2TypeAuthority     = 0x02 // SNI sent by the client
	PP2TypeSSL           = 0x20
	PP2SubtypeSSLVersion = 0x21 // "TLSv1.3"
	PP2SubtypeSSLCN      = 0x22 // client certificate subject CN
	PP2SubtypeSSLCipher  = 0x23 // "TLS_AES_128_GCM_SHA256"
	PP2SubtypeSSLGroup   = 0x26 // "X25519MLKEM768"
	PP2TypePeerIdentity  = 0xE0 // the identity the listener's ACL approved (ACL.Identify)

	pp2ClientSSL      = 0x01
	pp2ClientCertConn = 0x02
	pp2ClientCertSess = 0x04
)

// ProxyHeader builds a PROXY protocol v2 header for a connection from src to
// dst with the TLS state cs. identity is the peer identity the listener
// approved (ACL.Identify); empty leaves the identity TLV out.
func ProxyHeader(src, dst net.Addr, cs tls.ConnectionState, identity string) []byte {
	h := make([]byte, 16, 256)
	copy(h, proxyV2Signature)
	h[12] = 0x21 // version 2, command PROXY
	sa, sok := src.(*net.TCPAddr)
	da, dok := dst.(*net.TCPAddr)
	switch {
	case sok && dok && sa.IP.To4() != nil && da.IP.To4() != nil:
		h[13] = 0x11 // AF_INET, STREAM
		h = append(h, sa.IP.To4()...)
		h = append(h, da.IP.To4()...)
		h = binary.BigEndian.AppendUint16(h, uint16(sa.Port))
		h = binary.BigEndian.AppendUint16(h, uint16(da.Port))
	case sok && dok:
		h[13] = 0x21 // AF_INET6, STREAM
		h = append(h, sa.IP.To16()...)
		h = append(h, da.IP.To16()...)
		h = binary.BigEndian.AppendUint16(h, uint16(sa.Port))
		h = binary.BigEndian.AppendUint16(h, uint16(da.Port))
	default:
		h[13] = 0x00 // AF_UNSPEC (unix listener): receiver ignores addresses
	}
	if cs.ServerName != "" {
		h = appendTLV(h, PP2TypeAuthority, []byte(cs.ServerName))
	}
	ssl := []byte{pp2ClientSSL, 0, 0, 0, 0} // client flags, verify = 0 (success)
	if len(cs.PeerCertificates) > 0 {
		// CERT_SESS: a certificate was presented in this TLS session;
		// CERT_CONN: on this very connection (not on a resumed one,
		// where the certificate comes from the session).
		ssl[0] |= pp2ClientCertSess
		if !cs.DidResume {
			ssl[0] |= pp2ClientCertConn
		}
	}
	ssl = appendSub(ssl, PP2SubtypeSSLVersion, []byte(opensslVersion(cs.Version)))
	ssl = appendSub(ssl, PP2SubtypeSSLCipher, []byte(tls.CipherSuiteName(cs.CipherSuite)))
	ssl = appendSub(ssl, PP2SubtypeSSLGroup, []byte(pqtls.GroupName(cs.CurveID)))
	if len(cs.PeerCertificates) > 0 && cs.PeerCertificates[0].Subject.CommonName != "" {
		// The peer-controlled CN goes last and only if the whole SSL TLV
		// still fits: an oversized CN drops the CN, never the TLV.
		if cn := cs.PeerCertificates[0].Subject.CommonName; tlvHeader+len(ssl)+tlvHeader+len(cn) <= maxTLV {
			ssl = appendSub(ssl, PP2SubtypeSSLCN, []byte(cn))
		}
	}
	h = appendTLV(h, PP2TypeSSL, ssl)
	if identity != "" {
		h = appendTLV(h, PP2TypePeerIdentity, []byte(identity))
	}
	binary.BigEndian.PutUint16(h[14:16], uint16(len(h)-16))
	return h
}

// maxTLV bounds each top-level TLV of the header, its 3-byte type and length
// included; for PP2_TYPE_SSL the bound covers the whole TLV with its
// sub-TLVs. A value that would exceed it (SNI, CN, identity: all chosen by
// the peer) is left out, never truncated (a cut identity could name someone
// else to the backend), and only that value: the SSL TLV with version,
// cipher and group is always sent. The whole header stays below 13 KB,
// within HAProxy's default 16 KB buffer and the 16-bit length field.
const maxTLV = 4096

// tlvHeader is the size of a TLV's type and length.
const tlvHeader = 3

// appendTLV appends a top-level TLV unless it would exceed maxTLV.
func appendTLV(b []byte, typ byte, v []byte) []byte {
	if tlvHeader+len(v) > maxTLV {
		return b
	}
	return appendSub(b, typ, v)
}

// appendSub appends a TLV whose size the caller has bounded.
func appendSub(b []byte, typ byte, v []byte) []byte {
	b = append(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

func opensslVersion(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return pqtls.VersionName(v)
}

// ProxyInfo is a parsed PROXY protocol v2 header.
type ProxyInfo struct {
	// Source and Dest are the addresses of the proxied connection (nil for
	// AF_UNSPEC).
	Source, Dest net.Addr
	// TLVs holds top-level TLVs by type; SSL holds the sub-TLVs of
	// PP2_TYPE_SSL by sub-type.
	TLVs map[byte][]byte
	SSL  map[byte][]byte
	// SSLClient is the client flags byte of PP2_TYPE_SSL.
	SSLClient byte
}

// ParseProxyHeader parses a PROXY protocol v2 header at the start of b and
// returns it with the number of bytes it occupies.
func ParseProxyHeader(b []byte) (*ProxyInfo, int, error) {
	if len(b) < 16 || string(b[:12]) != string(proxyV2Signature) {
		return nil, 0, errors.New("no PROXY v2 signature")
	}
	if b[12] != 0x21 && b[12] != 0x20 {
		return nil, 0, fmt.Errorf("PROXY v2: version/command byte 0x%02x", b[12])
	}
	n := int(binary.BigEndian.Uint16(b[14:16]))
	if len(b) < 16+n {
		return nil, 0, errors.New("PROXY v2: truncated header")
	}
	body := b[16 : 16+n]
	info := &ProxyInfo{TLVs: map[byte][]byte{}, SSL: map[byte][]byte{}}
	switch b[13] {
	case 0x11:
		if len(body) < 12 {
			return nil, 0, errors.New("PROXY v2: short IPv4 address block")
		}
		info.Source = &net.TCPAddr{IP: net.IP(body[0:4]), Port: int(binary.BigEndian.Uint16(body[8:10]))}
		info.Dest = &net.TCPAddr{IP: net.IP(body[4:8]), Port: int(binary.BigEndian.Uint16(body[10:12]))}
		body = body[12:]
	case 0x21:
		if len(body) < 36 {
			return nil, 0, errors.New("PROXY v2: short IPv6 address block")
		}
		info.Source = &net.TCPAddr{IP: net.IP(body[0:16]), Port: int(binary.BigEndian.Uint16(body[32:34]))}
		info.Dest = &net.TCPAddr{IP: net.IP(body[16:32]), Port: int(binary.BigEndian.Uint16(body[34:36]))}
		body = body[36:]
	case 0x00:
	default:
		return nil, 0, fmt.Errorf("PROXY v2: unsupported family 0x%02x", b[13])
	}
	if err := parseTLVs(body, info.TLVs); err != nil {
		return nil, 0, err
	}
	if ssl, ok := info.TLVs[PP2TypeSSL]; ok {
		if len(ssl) < 5 {
			return nil, 0, errors.New("PROXY v2: short SSL TLV")
		}
		info.SSLClient = ssl[0]
		if err := parseTLVs(ssl[5:], info.SSL); err != nil {
			return nil, 0, err
		}
	}
	return info, 16 + n, nil
}

func parseTLVs(b []byte, into map[byte][]byte) error {
	for len(b) > 0 {
		if len(b) < 3 {
			return errors.New("PROXY v2: truncated TLV")
		}
		l := int(binary.BigEndian.Uint16(b[1:3]))
		if len(b) < 3+l {
			return errors.New("PROXY v2: TLV longer than header")
		}
		if _, dup := into[b[0]]; dup {
			return fmt.Errorf("PROXY v2: duplicate TLV 0x%02x", b[0])
		}
		into[b[0]] = b[3 : 3+l]
		b = b[3+l:]
	}
	return nil
}
