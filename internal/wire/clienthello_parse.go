package wire

import (
	"crypto/tls"

	"golang.org/x/crypto/cryptobyte"
)

// ParseClientHello parses a ClientHello handshake message (4-byte header
// included), e.g. [Message.Data] from a [Reader] on captured client bytes.
// It is strict (trailing bytes, duplicate extensions, malformed vectors,
// pre_shared_key not last are errors wrapping [ErrMalformed]) and never
// panics. Extensions it does not decode are kept in Extra. Slices alias msg.
func ParseClientHello(msg []byte) (*ClientHello, error) {
	body, err := splitHandshake(msg, TypeClientHello)
	if err != nil {
		return nil, err
	}
	c := &ClientHello{Raw: msg, PaddingLen: -1}
	s := cryptobyte.String(body)
	var random, sid, suites, comp cryptobyte.String
	if !s.ReadUint16(&c.LegacyVersion) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint16LengthPrefixed(&suites) ||
		!s.ReadUint8LengthPrefixed(&comp) {
		return nil, malformed("truncated ClientHello")
	}
	copy(c.Random[:], random)
	if len(sid) > 32 {
		return nil, malformed("ClientHello legacy_session_id of %d bytes, at most 32 allowed", len(sid))
	}
	c.SessionID = sid
	if len(suites) == 0 || len(suites)%2 != 0 {
		return nil, malformed("ClientHello cipher_suites of %d bytes", len(suites))
	}
	c.CipherSuites = make([]uint16, 0, len(suites)/2)
	for !suites.Empty() {
		var v uint16
		suites.ReadUint16(&v)
		c.CipherSuites = append(c.CipherSuites, v)
	}
	if len(comp) == 0 {
		return nil, malformed("ClientHello without compression methods")
	}
	c.CompressionMethods = comp
	if s.Empty() {
		return c, nil // no extensions (RFC 5246 section 7.4.1.2)
	}
	exts, err := readExtensions(&s)
	if err != nil {
		return nil, err
	}
	if !s.Empty() {
		return nil, malformed("%d trailing bytes after ClientHello extensions", len(s))
	}
	for i, e := range exts {
		c.Extensions = append(c.Extensions, e.Type)
		if err := c.parseExtension(e, i == len(exts)-1); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *ClientHello) parseExtension(e Extension, last bool) error {
	d := cryptobyte.String(e.Data)
	bad := func() error { return malformed("ClientHello %s extension", ExtensionName(e.Type)) }
	switch e.Type {
	case ExtServerName:
		// RFC 6066 section 3: ServerName server_name_list<1..2^16-1>; at
		// most one name per name_type; host_name is type 0.
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || !d.Empty() || list.Empty() {
			return bad()
		}
		seen := map[uint8]bool{}
		for !list.Empty() {
			var typ uint8
			var name cryptobyte.String
			if !list.ReadUint8(&typ) || !list.ReadUint16LengthPrefixed(&name) || len(name) == 0 || seen[typ] {
				return bad()
			}
			seen[typ] = true
			if typ == 0 {
				c.ServerName = string(name)
			}
		}
	case ExtSupportedGroups:
		// RFC 8446 section 4.2.7: NamedGroup named_group_list<2..2^16-1>.
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || !d.Empty() || len(list) == 0 || len(list)%2 != 0 {
			return bad()
		}
		c.SupportedGroups = make([]tls.CurveID, 0, len(list)/2)
		for !list.Empty() {
			var g uint16
			list.ReadUint16(&g)
			c.SupportedGroups = append(c.SupportedGroups, tls.CurveID(g))
		}
	case ExtECPointFormats:
		// RFC 8422 section 5.1.2: ec_point_format_list<1..2^8-1>.
		var list cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&list) || !d.Empty() || len(list) == 0 {
			return bad()
		}
		c.ECPointFormats = list
	case ExtSignatureAlgorithms:
		// RFC 8446 section 4.2.3: supported_signature_algorithms<2..2^16-2>.
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || !d.Empty() || len(list) == 0 || len(list)%2 != 0 {
			return bad()
		}
		for !list.Empty() {
			var v uint16
			list.ReadUint16(&v)
			c.SignatureAlgorithms = append(c.SignatureAlgorithms, tls.SignatureScheme(v))
		}
	case ExtALPN:
		// RFC 7301 section 3.1: ProtocolName protocol_name_list<2..2^16-1>,
		// ProtocolName<1..2^8-1>.
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || !d.Empty() || list.Empty() {
			return bad()
		}
		for !list.Empty() {
			var p cryptobyte.String
			if !list.ReadUint8LengthPrefixed(&p) || len(p) == 0 {
				return bad()
			}
			c.ALPN = append(c.ALPN, string(p))
		}
	case ExtExtendedMasterSecret:
		// RFC 7627 section 5.1: empty.
		if !d.Empty() {
			return bad()
		}
		c.ExtendedMasterSecret = true
	case ExtRenegotiationInfo:
		// RFC 5746 section 3.2: renegotiated_connection<0..255>. Kept in
		// Extra when not empty (a renegotiation, not an initial hello).
		var rc cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&rc) || !d.Empty() {
			return bad()
		}
		if len(rc) > 0 {
			c.Extra = append(c.Extra, e)
		} else {
			c.RenegotiationInfo = true
		}
	case ExtSupportedVersions:
		// RFC 8446 section 4.2.1: ProtocolVersion versions<2..254>.
		var list cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&list) || !d.Empty() || len(list) == 0 || len(list)%2 != 0 {
			return bad()
		}
		for !list.Empty() {
			var v uint16
			list.ReadUint16(&v)
			c.SupportedVersions = append(c.SupportedVersions, v)
		}
	case ExtCookie:
		// RFC 8446 section 4.2.2: opaque cookie<1..2^16-1>.
		var ck cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&ck) || !d.Empty() || len(ck) == 0 {
			return bad()
		}
		c.Cookie = ck
	case ExtPSKModes:
		// RFC 8446 section 4.2.9: PskKeyExchangeMode ke_modes<1..255>.
		var list cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&list) || !d.Empty() || len(list) == 0 {
			return bad()
		}
		c.PSKModes = list
	case ExtKeyShare:
		// RFC 8446 section 4.2.8: KeyShareEntry client_shares<0..2^16-1>,
		// key_exchange<1..2^16-1>; at most one entry per group.
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || !d.Empty() {
			return bad()
		}
		c.KeyShares = []KeyShare{}
		for !list.Empty() {
			var g uint16
			var data cryptobyte.String
			if !list.ReadUint16(&g) || !list.ReadUint16LengthPrefixed(&data) || len(data) == 0 {
				return bad()
			}
			for _, ks := range c.KeyShares {
				if ks.Group == tls.CurveID(g) {
					return malformed("ClientHello key_share has two entries for group %#04x", g)
				}
			}
			c.KeyShares = append(c.KeyShares, KeyShare{Group: tls.CurveID(g), Data: data})
		}
	case ExtEarlyData:
		// RFC 8446 section 4.2.10: empty in a ClientHello.
		if !d.Empty() {
			return bad()
		}
		c.EarlyData = true
	case ExtPreSharedKey:
		// RFC 8446 section 4.2.11: OfferedPsks {identities<7..2^16-1>,
		// binders<33..2^16-1>}; MUST be the last extension.
		if !last {
			return malformed("ClientHello pre_shared_key is not the last extension (RFC 8446 section 4.2.11)")
		}
		var ids, binders cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&ids) || !d.ReadUint16LengthPrefixed(&binders) || !d.Empty() || ids.Empty() || binders.Empty() {
			return bad()
		}
		n := 0
		for !ids.Empty() {
			var id cryptobyte.String
			var age uint32
			if !ids.ReadUint16LengthPrefixed(&id) || len(id) == 0 || !ids.ReadUint32(&age) {
				return bad()
			}
			n++
		}
		m := 0
		for !binders.Empty() {
			var bd cryptobyte.String
			if !binders.ReadUint8LengthPrefixed(&bd) || len(bd) < 32 {
				return bad()
			}
			m++
		}
		if n != m {
			return malformed("ClientHello pre_shared_key has %d identities and %d binders", n, m)
		}
		c.PSKIdentities = n
	case ExtPadding:
		// RFC 7685 section 3: zero bytes. Non-zero content is tolerated
		// (servers must ignore it) and only its length is recorded.
		c.PaddingLen = len(e.Data)
	default:
		c.Extra = append(c.Extra, e)
	}
	return nil
}
