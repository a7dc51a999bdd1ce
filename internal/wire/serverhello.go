package wire

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// ServerHello is a parsed ServerHello or HelloRetryRequest (RFC 8446 section
// 4.1.3 and 4.1.4), TLS 1.3 or earlier (RFC 5246 section 7.4.1.3).
type ServerHello struct {
	// LegacyVersion is legacy_version (0x0303 in TLS 1.3; the negotiated
	// version before).
	LegacyVersion uint16
	// Random is the server random; equal to the RFC 8446 special value for
	// a HelloRetryRequest.
	Random [32]byte
	// SessionID is legacy_session_id_echo.
	SessionID []byte
	// CipherSuite is the selected cipher suite.
	CipherSuite uint16
	// CompressionMethod is the selected compression method (0).
	CompressionMethod uint8
	// IsHRR reports a HelloRetryRequest: Random is SHA-256("HelloRetryRequest")
	// (RFC 8446 section 4.1.3).
	IsHRR bool

	// SupportedVersion is the supported_versions selected_version (RFC 8446
	// section 4.2.1), 0 when absent.
	SupportedVersion uint16
	// KeyShare is the server's KeyShareEntry in a TLS 1.3 ServerHello (RFC
	// 8446 section 4.2.8); zero in a HelloRetryRequest.
	KeyShare KeyShare
	// SelectedGroup is the group a HelloRetryRequest asks for (RFC 8446
	// section 4.2.8, KeyShareHelloRetryRequest), or KeyShare.Group in a
	// ServerHello; 0 when there is no key_share extension.
	SelectedGroup tls.CurveID
	// Cookie is the HelloRetryRequest cookie to echo (RFC 8446 section
	// 4.2.2).
	Cookie []byte
	// ALPN is the selected protocol of a TLS 1.2 ServerHello (RFC 7301
	// section 3.1); TLS 1.3 carries it in EncryptedExtensions.
	ALPN string
	// ExtendedMasterSecret reports extended_master_secret (RFC 7627).
	ExtendedMasterSecret bool
	// RenegotiationInfo reports renegotiation_info (RFC 5746 section 3.2).
	RenegotiationInfo bool
	// ECPointFormats is ec_point_formats (RFC 8422 section 5.1.2).
	ECPointFormats []uint8
	// PreSharedKey reports a pre_shared_key selected_identity (RFC 8446
	// section 4.2.11): the server accepted a resumption.
	PreSharedKey bool
	// Extensions lists every extension codepoint in the order received.
	Extensions []uint16
	// Extra holds the extensions not decoded into the fields above.
	Extra []Extension
	// Raw is the parsed handshake message, header included.
	Raw []byte
}

// Version returns the negotiated protocol version: selected_version when
// supported_versions is present, legacy_version otherwise.
func (s *ServerHello) Version() uint16 {
	if s.SupportedVersion != 0 {
		return s.SupportedVersion
	}
	return s.LegacyVersion
}

// DowngradeSentinel reports the RFC 8446 section 4.1.3 downgrade marker in
// the last 8 bytes of the random: a TLS 1.3 server that negotiated TLS 1.2
// ("DOWNGRD\x01") or 1.1 or below ("DOWNGRD\x00"). Returns 0 when absent,
// otherwise the version the marker names (0x0303 or 0x0302).
func (s *ServerHello) DowngradeSentinel() uint16 {
	switch tail := s.Random[24:]; {
	case bytes.Equal(tail, downgradeTLS12):
		return VersionTLS12
	case bytes.Equal(tail, downgradeTLS11):
		return VersionTLS11
	}
	return 0
}

// ParseServerHello parses a ServerHello or HelloRetryRequest handshake
// message (4-byte header included). It is strict: trailing bytes, duplicate
// extensions, malformed extension bodies and a HelloRetryRequest without a
// TLS 1.3 supported_versions are errors wrapping [ErrMalformed]. It never
// panics. Slices alias msg.
func ParseServerHello(msg []byte) (*ServerHello, error) {
	body, err := splitHandshake(msg, TypeServerHello)
	if err != nil {
		return nil, err
	}
	sh := &ServerHello{Raw: msg}
	s := cryptobyte.String(body)
	var random, sid cryptobyte.String
	if !s.ReadUint16(&sh.LegacyVersion) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint16(&sh.CipherSuite) || !s.ReadUint8(&sh.CompressionMethod) {
		return nil, malformed("truncated ServerHello")
	}
	copy(sh.Random[:], random)
	sh.IsHRR = sh.Random == helloRetryRequestRandom
	if len(sid) > 32 {
		return nil, malformed("ServerHello legacy_session_id_echo of %d bytes, at most 32 allowed", len(sid))
	}
	sh.SessionID = sid
	if !s.Empty() {
		exts, err := readExtensions(&s)
		if err != nil {
			return nil, err
		}
		if !s.Empty() {
			return nil, malformed("%d trailing bytes after ServerHello extensions", len(s))
		}
		for _, e := range exts {
			sh.Extensions = append(sh.Extensions, e.Type)
			if err := sh.parseExtension(e); err != nil {
				return nil, err
			}
		}
	}
	if sh.SupportedVersion == VersionTLS13 {
		// RFC 8446 section 4.2: a recognized extension in a message it is
		// not specified for is illegal_parameter. TLS 1.3 ServerHello:
		// supported_versions, key_share, pre_shared_key; HelloRetryRequest:
		// supported_versions, key_share, cookie.
		for _, t := range sh.Extensions {
			ok := t == ExtSupportedVersions || t == ExtKeyShare ||
				(sh.IsHRR && t == ExtCookie) || (!sh.IsHRR && t == ExtPreSharedKey) || !knownExtension(t)
			if !ok {
				return nil, malformed("%s extension is not allowed in a TLS 1.3 %s (RFC 8446 section 4.2)", ExtensionName(t), sh.kind())
			}
		}
	}
	if sh.IsHRR && sh.SupportedVersion != VersionTLS13 {
		return nil, malformed("HelloRetryRequest without supported_versions TLS 1.3 (RFC 8446 section 4.1.4)")
	}
	if sh.IsHRR && sh.SelectedGroup == 0 && len(sh.Cookie) == 0 {
		return nil, malformed("HelloRetryRequest with neither key_share nor cookie would not change the ClientHello (RFC 8446 section 4.1.4)")
	}
	return sh, nil
}

func (sh *ServerHello) parseExtension(e Extension) error {
	d := cryptobyte.String(e.Data)
	bad := func() error {
		kind := "ServerHello"
		if sh.IsHRR {
			kind = "HelloRetryRequest"
		}
		return malformed("%s %s extension", kind, ExtensionName(e.Type))
	}
	switch e.Type {
	case ExtSupportedVersions:
		// RFC 8446 section 4.2.1: ProtocolVersion selected_version.
		if !d.ReadUint16(&sh.SupportedVersion) || !d.Empty() {
			return bad()
		}
	case ExtKeyShare:
		var g uint16
		if sh.IsHRR {
			// RFC 8446 section 4.2.8: KeyShareHelloRetryRequest {NamedGroup selected_group}.
			if !d.ReadUint16(&g) || !d.Empty() {
				return bad()
			}
			sh.SelectedGroup = tls.CurveID(g)
			return nil
		}
		// RFC 8446 section 4.2.8: KeyShareServerHello {KeyShareEntry server_share}.
		var data cryptobyte.String
		if !d.ReadUint16(&g) || !d.ReadUint16LengthPrefixed(&data) || !d.Empty() || len(data) == 0 {
			return bad()
		}
		sh.KeyShare = KeyShare{Group: tls.CurveID(g), Data: data}
		sh.SelectedGroup = tls.CurveID(g)
	case ExtCookie:
		// RFC 8446 section 4.2.2: opaque cookie<1..2^16-1>.
		var ck cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&ck) || !d.Empty() || len(ck) == 0 {
			return bad()
		}
		sh.Cookie = ck
	case ExtALPN:
		// RFC 7301 section 3.1: exactly one ProtocolName in a ServerHello.
		var list, p cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || !d.Empty() || !list.ReadUint8LengthPrefixed(&p) || !list.Empty() || len(p) == 0 {
			return bad()
		}
		sh.ALPN = string(p)
	case ExtExtendedMasterSecret:
		// RFC 7627 section 5.1: empty.
		if !d.Empty() {
			return bad()
		}
		sh.ExtendedMasterSecret = true
	case ExtRenegotiationInfo:
		// RFC 5746 section 3.2: renegotiated_connection<0..255>.
		var rc cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&rc) || !d.Empty() {
			return bad()
		}
		sh.RenegotiationInfo = true
	case ExtECPointFormats:
		// RFC 8422 section 5.1.2: ec_point_format_list<1..2^8-1>.
		var list cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&list) || !d.Empty() || len(list) == 0 {
			return bad()
		}
		sh.ECPointFormats = list
	case ExtPreSharedKey:
		// RFC 8446 section 4.2.11: uint16 selected_identity.
		var id uint16
		if !d.ReadUint16(&id) || !d.Empty() {
			return bad()
		}
		sh.PreSharedKey = true
	default:
		sh.Extra = append(sh.Extra, e)
	}
	return nil
}

// CheckAgainst verifies that the ServerHello (or HelloRetryRequest) is a
// valid answer to ch, the way a client would (RFC 8446 sections 4.1.3, 4.1.4,
// 4.2.8): the session ID is echoed (TLS 1.3), the cipher suite and version were offered,
// and the selected group was offered in supported_groups; a HelloRetryRequest
// must not ask for a group ch already sent a key share for, and a ServerHello
// key share must be for a group ch sent a share for. Scanners use it so that a
// broken or confused server is not counted as supporting a group.
func (s *ServerHello) CheckAgainst(ch *ClientHello) error {
	v := s.Version()
	if v == VersionTLS13 && !bytes.Equal(s.SessionID, ch.SessionID) {
		return fmt.Errorf("wire: server did not echo the session ID (RFC 8446 section 4.1.3)")
	}
	if !slices.Contains(ch.CipherSuites, s.CipherSuite) {
		return fmt.Errorf("wire: server selected cipher suite %#04x that was not offered", s.CipherSuite)
	}
	if s.SupportedVersion != 0 {
		if !slices.Contains(ch.SupportedVersions, v) {
			return fmt.Errorf("wire: server selected %s, which was not offered in supported_versions", VersionName(v))
		}
	} else if v > ch.LegacyVersion {
		return fmt.Errorf("wire: server selected %s, above the offered %s", VersionName(v), VersionName(ch.LegacyVersion))
	}
	if v == VersionTLS13 && !s.PreSharedKey && s.SelectedGroup == 0 {
		return fmt.Errorf("wire: TLS 1.3 %s without key_share", s.kind())
	}
	if s.SelectedGroup != 0 {
		if !slices.Contains(ch.SupportedGroups, s.SelectedGroup) {
			return fmt.Errorf("wire: server selected group %#04x that was not offered in supported_groups", uint16(s.SelectedGroup))
		}
		sent := slices.Contains(ch.KeyShareGroups(), s.SelectedGroup)
		if s.IsHRR && sent {
			return fmt.Errorf("wire: HelloRetryRequest asks for group %#04x, for which a key share was already sent (RFC 8446 section 4.2.8)", uint16(s.SelectedGroup))
		}
		if !s.IsHRR && !sent {
			return fmt.Errorf("wire: ServerHello key share for group %#04x, for which no key share was sent (RFC 8446 section 4.2.8)", uint16(s.SelectedGroup))
		}
	}
	return nil
}

func (s *ServerHello) kind() string {
	if s.IsHRR {
		return "HelloRetryRequest"
	}
	return "ServerHello"
}
