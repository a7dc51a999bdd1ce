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

// extParser decodes one ClientHello extension's data into c; it returns
// false when the data is malformed (reported as such by parseExtension).
type extParser func(c *ClientHello, d *cryptobyte.String, e Extension) bool

// clientHelloExtensions is the table of ClientHello extensions this package
// decodes, by type; the others are kept in Extra. pre_shared_key and
// padding are handled by parseExtension (position rule, lenient content).
var clientHelloExtensions = map[uint16]extParser{
	ExtServerName: parseServerName,
	// RFC 8446 section 4.2.7: named_group_list<2..2^16-1>.
	ExtSupportedGroups: uint16List(2, func(c *ClientHello) *[]tls.CurveID { return &c.SupportedGroups }),
	// RFC 8422 section 5.1.2: ec_point_format_list<1..2^8-1>.
	ExtECPointFormats: byteList(1, func(c *ClientHello) *[]byte { return &c.ECPointFormats }),
	// RFC 8446 section 4.2.3: supported_signature_algorithms<2..2^16-2>.
	ExtSignatureAlgorithms: uint16List(2, func(c *ClientHello) *[]tls.SignatureScheme { return &c.SignatureAlgorithms }),
	ExtALPN:                parseALPN,
	ExtExtendedMasterSecret: func(c *ClientHello, _ *cryptobyte.String, _ Extension) bool {
		c.ExtendedMasterSecret = true
		return true
	},
	ExtRenegotiationInfo: parseRenegotiationInfo,
	// RFC 8446 section 4.2.1: versions<2..254>.
	ExtSupportedVersions: uint16List(1, func(c *ClientHello) *[]uint16 { return &c.SupportedVersions }),
	// RFC 8446 section 4.2.2: opaque cookie<1..2^16-1>.
	ExtCookie: byteList(2, func(c *ClientHello) *[]byte { return &c.Cookie }),
	// RFC 8446 section 4.2.9: PskKeyExchangeMode ke_modes<1..255>.
	ExtPSKModes: byteList(1, func(c *ClientHello) *[]byte { return &c.PSKModes }),
	ExtKeyShare: parseKeyShares,
	// RFC 8446 section 4.2.10: empty in a ClientHello.
	ExtEarlyData: func(c *ClientHello, _ *cryptobyte.String, _ Extension) bool { c.EarlyData = true; return true },
}

func (c *ClientHello) parseExtension(e Extension, last bool) error {
	d := cryptobyte.String(e.Data)
	switch e.Type {
	case ExtPreSharedKey:
		if !last {
			return malformed("ClientHello pre_shared_key is not the last extension (RFC 8446 section 4.2.11)")
		}
		return c.parsePreSharedKey(&d)
	case ExtPadding:
		// RFC 7685 section 3: zero bytes. Non-zero content is tolerated
		// (servers must ignore it) and only its length is recorded.
		c.PaddingLen = len(e.Data)
		return nil
	}
	parse, ok := clientHelloExtensions[e.Type]
	if !ok {
		c.Extra = append(c.Extra, e)
		return nil
	}
	// Every decoded extension must use its data exactly (empty ones too:
	// extended_master_secret, RFC 7627 section 5.1; early_data).
	if !parse(c, &d, e) || !d.Empty() {
		return malformed("ClientHello %s extension", ExtensionName(e.Type))
	}
	return nil
}

// readVector reads a non-empty vector with a length prefix of lenBytes (1
// or 2).
func readVector(d *cryptobyte.String, lenBytes int) (cryptobyte.String, bool) {
	var list cryptobyte.String
	ok := false
	if lenBytes == 1 {
		ok = d.ReadUint8LengthPrefixed(&list)
	} else {
		ok = d.ReadUint16LengthPrefixed(&list)
	}
	return list, ok && len(list) > 0
}

// readUint16s reads a vector of uint16 values with a length prefix of
// lenBytes (1 or 2) that must be non-empty and even.
func readUint16s(d *cryptobyte.String, lenBytes int) ([]uint16, bool) {
	list, ok := readVector(d, lenBytes)
	if !ok || len(list)%2 != 0 {
		return nil, false
	}
	out := make([]uint16, 0, len(list)/2)
	for !list.Empty() {
		var v uint16
		list.ReadUint16(&v)
		out = append(out, v)
	}
	return out, true
}

// uint16List is the parser of an extension that is one non-empty vector of
// uint16 values (length prefix of lenBytes), appended to *field(c).
func uint16List[T ~uint16](lenBytes int, field func(*ClientHello) *[]T) extParser {
	return func(c *ClientHello, d *cryptobyte.String, _ Extension) bool {
		vs, ok := readUint16s(d, lenBytes)
		for _, v := range vs {
			*field(c) = append(*field(c), T(v))
		}
		return ok
	}
}

// byteList is the parser of an extension that is one non-empty opaque
// vector (length prefix of lenBytes), stored in *field(c).
func byteList(lenBytes int, field func(*ClientHello) *[]byte) extParser {
	return func(c *ClientHello, d *cryptobyte.String, _ Extension) bool {
		list, ok := readVector(d, lenBytes)
		if ok {
			*field(c) = list
		}
		return ok
	}
}

// parseServerName: RFC 6066 section 3: ServerName server_name_list<1..2^16-1>;
// at most one name per name_type; host_name is type 0.
func parseServerName(c *ClientHello, d *cryptobyte.String, _ Extension) bool {
	list, ok := readVector(d, 2)
	if !ok {
		return false
	}
	seen := map[uint8]bool{}
	for !list.Empty() {
		var typ uint8
		var name cryptobyte.String
		if !list.ReadUint8(&typ) || !list.ReadUint16LengthPrefixed(&name) || len(name) == 0 || seen[typ] {
			return false
		}
		seen[typ] = true
		if typ == 0 {
			c.ServerName = string(name)
		}
	}
	return true
}

// parseALPN: RFC 7301 section 3.1: ProtocolName protocol_name_list<2..2^16-1>,
// ProtocolName<1..2^8-1>.
func parseALPN(c *ClientHello, d *cryptobyte.String, _ Extension) bool {
	list, ok := readVector(d, 2)
	if !ok {
		return false
	}
	for !list.Empty() {
		var p cryptobyte.String
		if !list.ReadUint8LengthPrefixed(&p) || len(p) == 0 {
			return false
		}
		c.ALPN = append(c.ALPN, string(p))
	}
	return true
}

// parseRenegotiationInfo: RFC 5746 section 3.2: renegotiated_connection<0..255>.
// Kept in Extra when not empty (a renegotiation, not an initial hello).
func parseRenegotiationInfo(c *ClientHello, d *cryptobyte.String, e Extension) bool {
	var rc cryptobyte.String
	if !d.ReadUint8LengthPrefixed(&rc) {
		return false
	}
	if len(rc) > 0 {
		c.Extra = append(c.Extra, e)
	} else {
		c.RenegotiationInfo = true
	}
	return true
}

// parseKeyShares: RFC 8446 section 4.2.8: KeyShareEntry
// client_shares<0..2^16-1>, key_exchange<1..2^16-1>; at most one entry per
// group (a duplicate is malformed too).
func parseKeyShares(c *ClientHello, d *cryptobyte.String, _ Extension) bool {
	var list cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&list) {
		return false
	}
	c.KeyShares = []KeyShare{}
	for !list.Empty() {
		var g uint16
		var data cryptobyte.String
		if !list.ReadUint16(&g) || !list.ReadUint16LengthPrefixed(&data) || len(data) == 0 {
			return false
		}
		for _, ks := range c.KeyShares {
			if ks.Group == tls.CurveID(g) {
				return false
			}
		}
		c.KeyShares = append(c.KeyShares, KeyShare{Group: tls.CurveID(g), Data: data})
	}
	return true
}

// parsePreSharedKey: RFC 8446 section 4.2.11: OfferedPsks
// {identities<7..2^16-1>, binders<33..2^16-1>}, as many binders as
// identities.
func (c *ClientHello) parsePreSharedKey(d *cryptobyte.String) error {
	bad := malformed("ClientHello %s extension", ExtensionName(ExtPreSharedKey))
	var ids, binders cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&ids) || !d.ReadUint16LengthPrefixed(&binders) || !d.Empty() || ids.Empty() || binders.Empty() {
		return bad
	}
	n := 0
	for !ids.Empty() {
		var id cryptobyte.String
		var age uint32
		if !ids.ReadUint16LengthPrefixed(&id) || len(id) == 0 || !ids.ReadUint32(&age) {
			return bad
		}
		n++
	}
	m := 0
	for !binders.Empty() {
		var bd cryptobyte.String
		if !binders.ReadUint8LengthPrefixed(&bd) || len(bd) < 32 {
			return bad
		}
		m++
	}
	if n != m {
		return malformed("ClientHello pre_shared_key has %d identities and %d binders", n, m)
	}
	c.PSKIdentities = n
	return nil
}
