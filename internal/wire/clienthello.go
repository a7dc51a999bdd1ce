package wire

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// ClientHello describes a ClientHello message (RFC 8446 section 4.1.2). The
// same type is produced by [ParseClientHello] and consumed by
// [ClientHello.Marshal], so build -> parse round-trips.
//
// Start from [NewClientHello13] or [NewClientHello12] and change what the
// probe needs. Marshal validates the result (see [ClientHello.Validate]):
// a crafted ClientHello that real servers would reject as malformed is a
// probe that measures nothing.
type ClientHello struct {
	// RecordVersion is the legacy_record_version of the records carrying
	// the message (RFC 8446 section 5.1); zero means 0x0301, what every
	// client sends in its first flight. A second ClientHello after a
	// HelloRetryRequest must use 0x0303 ([ClientHello.Retry] sets it). Not
	// set by ParseClientHello.
	RecordVersion uint16
	// LegacyVersion is ClientHello.legacy_version: 0x0303 for TLS 1.2 and
	// 1.3 (1.3 is negotiated with supported_versions), 0x0301/0x0302 to
	// probe TLS 1.0/1.1.
	LegacyVersion uint16
	// Random is the 32-byte client random.
	Random [32]byte
	// SessionID is legacy_session_id (0..32 bytes); the constructors set 32
	// random bytes, the middlebox compatibility mode of RFC 8446 appendix D.4.
	SessionID []byte
	// CipherSuites in preference order.
	CipherSuites []uint16
	// CompressionMethods; nil marshals as [0] (null), the only valid value.
	CompressionMethods []uint8

	// ServerName is the host_name of the server_name extension (RFC 6066
	// section 3); empty omits the extension. IP literals are not allowed.
	ServerName string
	// ALPN lists the protocols of application_layer_protocol_negotiation
	// (RFC 7301 section 3.1); empty omits the extension.
	ALPN []string
	// SupportedVersions is the supported_versions extension (RFC 8446
	// section 4.2.1); empty omits it, which makes a TLS 1.2-or-older hello.
	SupportedVersions []uint16
	// SupportedGroups is supported_groups (RFC 8446 section 4.2.7; RFC 8422
	// section 5.1.1 "elliptic_curves" in TLS 1.2). Any codepoint may be
	// listed, including ones crypto/tls cannot negotiate.
	SupportedGroups []tls.CurveID
	// KeyShares are the client_shares of key_share (RFC 8446 section
	// 4.2.8). In a TLS 1.3 hello the extension is always sent, with an empty
	// list when KeyShares is empty, so that a server supporting one of
	// SupportedGroups answers with a HelloRetryRequest. Each group must
	// appear in SupportedGroups, in the same order, at most once.
	KeyShares []KeyShare
	// SignatureAlgorithms is signature_algorithms (RFC 8446 section 4.2.3);
	// empty omits it.
	SignatureAlgorithms []tls.SignatureScheme
	// PSKModes is psk_key_exchange_modes (RFC 8446 section 4.2.9), e.g.
	// [PSKModeDHE]; empty omits it. Required when offering TLS 1.3.
	PSKModes []uint8
	// Cookie is echoed from a HelloRetryRequest (RFC 8446 section 4.2.2);
	// empty omits the extension.
	Cookie []byte
	// ECPointFormats is ec_point_formats (RFC 8422 section 5.1.2); empty
	// omits it. TLS 1.2 hellos send [0] (uncompressed).
	ECPointFormats []uint8
	// ExtendedMasterSecret sends extended_master_secret (RFC 7627 section
	// 5.1).
	ExtendedMasterSecret bool
	// RenegotiationInfo sends renegotiation_info with an empty
	// renegotiated_connection (RFC 5746 section 3.4).
	RenegotiationInfo bool
	// Extra extensions, marshalled in order after the ones above and before
	// padding (use it for GREASE, status_request, ...). ParseClientHello puts
	// every extension it does not decode into a field here.
	Extra []Extension
	// PadTo, when larger than the message would otherwise be, adds a padding
	// extension (RFC 7685 section 3) so that the handshake message (4-byte
	// header included) is exactly PadTo bytes; when the gap is 1..3 bytes,
	// smaller than an empty padding extension, the message ends up 4 bytes
	// longer than without padding. Not set by ParseClientHello.
	PadTo int

	// The fields below are set by ParseClientHello and ignored by Marshal.

	// EarlyData reports an early_data extension (RFC 8446 section 4.2.10):
	// the client attempts 0-RTT.
	EarlyData bool
	// PSKIdentities counts the identities of a pre_shared_key extension
	// (RFC 8446 section 4.2.11): non-zero means a TLS 1.3 resumption
	// attempt.
	PSKIdentities int
	// PaddingLen is the length of the padding extension's data, -1 when the
	// extension is absent.
	PaddingLen int
	// Extensions lists every extension codepoint in the order received.
	Extensions []uint16
	// Raw is the parsed handshake message, header included; len(Raw) is the
	// ClientHello size.
	Raw []byte
}

// NewClientHello13 returns a ClientHello offering TLS 1.3 and 1.2 the way a
// modern client does: TLS 1.3 and ECDHE TLS 1.2 suites, signature algorithms
// (DefaultSignatureAlgorithms13, ML-DSA included),
// psk_dhe_ke, a 32-byte random session ID, extended_master_secret,
// renegotiation_info and uncompressed EC points. SupportedGroups and
// KeyShares are left empty for the caller to fill; with no key share a
// supporting server answers with a HelloRetryRequest.
func NewClientHello13(serverName string) *ClientHello {
	ch := newClientHello(serverName)
	ch.SupportedVersions = []uint16{VersionTLS13, VersionTLS12}
	ch.CipherSuites = append(slices.Clone(DefaultCipherSuites13), DefaultCipherSuites12...)
	ch.PSKModes = []uint8{PSKModeDHE}
	ch.SignatureAlgorithms = slices.Clone(DefaultSignatureAlgorithms13)
	return ch
}

// NewClientHello12 returns a TLS 1.2-only ClientHello: no supported_versions
// (so no TLS 1.3 extensions), TLS 1.2 cipher suites, ec_point_formats,
// extended_master_secret, renegotiation_info and signature algorithms. Set
// SupportedGroups to the curves to offer.
func NewClientHello12(serverName string) *ClientHello {
	ch := newClientHello(serverName)
	ch.CipherSuites = slices.Clone(DefaultCipherSuites12)
	return ch
}

func newClientHello(serverName string) *ClientHello {
	ch := &ClientHello{
		LegacyVersion:        VersionTLS12,
		SessionID:            make([]byte, 32),
		ServerName:           serverName,
		SignatureAlgorithms:  slices.Clone(DefaultSignatureAlgorithms),
		ECPointFormats:       []uint8{0},
		ExtendedMasterSecret: true,
		RenegotiationInfo:    true,
		PaddingLen:           -1,
	}
	rand.Read(ch.Random[:])
	rand.Read(ch.SessionID)
	return ch
}

// Retry returns the second ClientHello that answers a HelloRetryRequest
// (RFC 8446 section 4.1.2): a copy of c with one fresh key share for the
// group hrr selected (see [GenerateKeyShare]), the cookie echoed when hrr has
// one, and legacy_record_version 0x0303 (RFC 8446 section 5.1 allows 0x0301
// only for the initial ClientHello; Go's server rejects anything else with
// protocol_version). Everything else is unchanged, as the RFC requires. It
// fails if hrr is not a HelloRetryRequest or asks for a group c did not
// offer.
func (c *ClientHello) Retry(hrr *ServerHello) (*ClientHello, error) {
	if !hrr.IsHRR {
		return nil, errors.New("wire: Retry needs a HelloRetryRequest, got a ServerHello")
	}
	if err := hrr.CheckAgainst(c); err != nil {
		return nil, err
	}
	n := *c
	n.RecordVersion = VersionTLS12
	n.Raw, n.Extensions = nil, nil
	n.Cookie = hrr.Cookie
	n.KeyShares = nil
	if hrr.SelectedGroup != 0 {
		ks, err := GenerateKeyShare(hrr.SelectedGroup)
		if err != nil {
			return nil, err
		}
		n.KeyShares = []KeyShare{ks}
	} else if len(c.KeyShares) > 0 {
		n.KeyShares = slices.Clone(c.KeyShares)
	}
	return &n, nil
}

// OffersTLS13 reports whether supported_versions lists TLS 1.3.
func (c *ClientHello) OffersTLS13() bool {
	return slices.Contains(c.SupportedVersions, VersionTLS13)
}

// Resumption reports whether the hello tries to resume a session: a TLS 1.3
// pre_shared_key with identities, or a non-empty TLS 1.2 session ticket
// (RFC 5077 section 3.2).
func (c *ClientHello) Resumption() bool {
	if c.PSKIdentities > 0 {
		return true
	}
	for _, e := range c.Extra {
		if e.Type == ExtSessionTicket && len(e.Data) > 0 {
			return true
		}
	}
	return false
}

// KeyShareGroups returns the groups of the key shares, in order.
func (c *ClientHello) KeyShareGroups() []tls.CurveID {
	out := make([]tls.CurveID, len(c.KeyShares))
	for i, ks := range c.KeyShares {
		out[i] = ks.Group
	}
	return out
}

// ErrInvalidClientHello is wrapped by every validation error of
// [ClientHello.Validate].
var ErrInvalidClientHello = errors.New("invalid ClientHello")

func invalid(format string, args ...any) error {
	return fmt.Errorf("wire: %w: "+format, append([]any{ErrInvalidClientHello}, args...)...)
}

// Validate checks the ClientHello against the rules real servers enforce:
// every key share group is in supported_groups, in the same order, at most
// once (RFC 8446 section 4.2.8); a TLS 1.3 hello has legacy_version 0x0303,
// psk_key_exchange_modes, supported_groups and signature_algorithms (RFC 8446
// sections 4.1.2, 9.2); key shares need TLS 1.3; sizes fit their fields; Extra
// does not duplicate an extension the struct already produces.
func (c *ClientHello) Validate() error {
	if len(c.SessionID) > 32 {
		return invalid("legacy_session_id is %d bytes, at most 32 allowed", len(c.SessionID))
	}
	if len(c.CipherSuites) == 0 {
		return invalid("no cipher suites: add at least one")
	}
	if c.ServerName != "" && net.ParseIP(c.ServerName) != nil {
		return invalid("server_name %q is an IP address, which RFC 6066 forbids: leave ServerName empty", c.ServerName)
	}
	for _, p := range c.ALPN {
		if len(p) == 0 || len(p) > 255 {
			return invalid("ALPN protocol %q must be 1..255 bytes", p)
		}
	}
	if len(c.SupportedVersions) > 127 {
		return invalid("too many supported_versions")
	}
	tls13 := c.OffersTLS13()
	if len(c.KeyShares) > 0 && !tls13 {
		return invalid("key shares are a TLS 1.3 extension: add TLS 1.3 to SupportedVersions or drop the key shares")
	}
	next := 0 // index in SupportedGroups after the previous key share's group
	for i, ks := range c.KeyShares {
		if len(ks.Data) == 0 {
			return invalid("key share %d (%#04x) is empty: use GenerateKeyShare, or omit the entry to get a HelloRetryRequest", i, uint16(ks.Group))
		}
		j := slices.Index(c.SupportedGroups, ks.Group)
		if j < 0 {
			return invalid("key share group %#04x is not in supported_groups (RFC 8446 section 4.2.8): add it to SupportedGroups", uint16(ks.Group))
		}
		if j < next {
			return invalid("key share group %#04x is duplicated or out of supported_groups order (RFC 8446 section 4.2.8)", uint16(ks.Group))
		}
		next = j + 1
	}
	if tls13 {
		if c.LegacyVersion != VersionTLS12 {
			return invalid("a TLS 1.3 ClientHello must have legacy_version 0x0303, not %#04x (RFC 8446 section 4.1.2)", c.LegacyVersion)
		}
		if len(c.PSKModes) == 0 {
			return invalid("a TLS 1.3 ClientHello needs psk_key_exchange_modes: set PSKModes to [wire.PSKModeDHE]")
		}
		if len(c.SupportedGroups) == 0 {
			return invalid("a TLS 1.3 ClientHello needs supported_groups (RFC 8446 section 9.2): add at least one group")
		}
		if len(c.SignatureAlgorithms) == 0 {
			return invalid("a TLS 1.3 ClientHello needs signature_algorithms (RFC 8446 section 9.2)")
		}
	}
	if len(c.PSKModes) > 255 || len(c.ECPointFormats) > 255 || len(c.CompressionMethods) > 255 {
		return invalid("a one-byte length list has more than 255 entries")
	}
	if c.CompressionMethods != nil && !slices.Contains(c.CompressionMethods, 0) {
		return invalid("compression methods must include null (0)")
	}
	seen := make(map[uint16]bool)
	for _, t := range c.builtExtensions() {
		seen[t] = true
	}
	for _, e := range c.Extra {
		if seen[e.Type] {
			return invalid("extra extension %s duplicates one already sent", ExtensionName(e.Type))
		}
		if e.Type == ExtPadding && c.PadTo > 0 {
			return invalid("extra padding extension conflicts with PadTo: use one or the other")
		}
		if e.Type == ExtPreSharedKey || e.Type == ExtEarlyData {
			return invalid("%s cannot be sent: this builder does not do resumption", ExtensionName(e.Type))
		}
		seen[e.Type] = true
	}
	return nil
}

// builtExtensions lists the extensions marshalExtensions produces from the
// struct fields, in order (padding excluded).
func (c *ClientHello) builtExtensions() []uint16 {
	var out []uint16
	add := func(cond bool, t uint16) {
		if cond {
			out = append(out, t)
		}
	}
	tls13 := c.OffersTLS13()
	add(c.ServerName != "", ExtServerName)
	add(len(c.ECPointFormats) > 0, ExtECPointFormats)
	add(len(c.SupportedGroups) > 0, ExtSupportedGroups)
	add(len(c.SignatureAlgorithms) > 0, ExtSignatureAlgorithms)
	add(len(c.ALPN) > 0, ExtALPN)
	add(c.ExtendedMasterSecret, ExtExtendedMasterSecret)
	add(c.RenegotiationInfo, ExtRenegotiationInfo)
	add(len(c.SupportedVersions) > 0, ExtSupportedVersions)
	add(len(c.Cookie) > 0, ExtCookie)
	add(len(c.PSKModes) > 0, ExtPSKModes)
	add(tls13, ExtKeyShare)
	return out
}

// Marshal validates the ClientHello and returns the handshake message
// (4-byte header included), padded to PadTo if set.
func (c *ClientHello) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	msg, err := c.marshal(-1)
	if err != nil || c.PadTo <= len(msg) {
		return msg, err
	}
	withEmpty, err := c.marshal(0)
	if err != nil {
		return nil, err
	}
	pad := max(0, c.PadTo-len(withEmpty))
	if pad > 0xffff {
		return nil, invalid("PadTo %d is too large: the extensions block is limited to 65535 bytes", c.PadTo)
	}
	return c.marshal(pad)
}

// MarshalRecords returns the ClientHello as TLS records ready to write to a
// connection. Without fragments it is one record (or several of 2^14 bytes
// when larger); fragments gives the payload size of the first records, to
// split the hello across records (see [EncodeRecords]).
func (c *ClientHello) MarshalRecords(fragments ...int) ([]byte, error) {
	msg, err := c.Marshal()
	if err != nil {
		return nil, err
	}
	v := c.RecordVersion
	if v == 0 {
		v = VersionTLS10
	}
	return EncodeRecords(ContentHandshake, v, msg, fragments)
}

// marshal encodes the message; padLen < 0 omits the padding extension.
func (c *ClientHello) marshal(padLen int) ([]byte, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, 512+padLen))
	b.AddUint8(uint8(TypeClientHello))
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(c.LegacyVersion)
		b.AddBytes(c.Random[:])
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.SessionID) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, s := range c.CipherSuites {
				b.AddUint16(s)
			}
		})
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
			if c.CompressionMethods == nil {
				b.AddUint8(0)
			}
			b.AddBytes(c.CompressionMethods)
		})
		if len(c.builtExtensions()) == 0 && len(c.Extra) == 0 && padLen < 0 {
			return // a hello without extensions (RFC 5246 section 7.4.1.2)
		}
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { c.marshalExtensions(b, padLen) })
	})
	return b.Bytes()
}

func addExt(b *cryptobyte.Builder, typ uint16, body func(b *cryptobyte.Builder)) {
	b.AddUint16(typ)
	b.AddUint16LengthPrefixed(body)
}

func (c *ClientHello) marshalExtensions(b *cryptobyte.Builder, padLen int) {
	if c.ServerName != "" {
		// RFC 6066 section 3: ServerNameList with one host_name (0) entry.
		addExt(b, ExtServerName, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8(0)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(c.ServerName)) })
			})
		})
	}
	if len(c.ECPointFormats) > 0 {
		// RFC 8422 section 5.1.2: ec_point_format_list<1..2^8-1>.
		addExt(b, ExtECPointFormats, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.ECPointFormats) })
		})
	}
	if len(c.SupportedGroups) > 0 {
		// RFC 8446 section 4.2.7: NamedGroup named_group_list<2..2^16-1>.
		addExt(b, ExtSupportedGroups, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, g := range c.SupportedGroups {
					b.AddUint16(uint16(g))
				}
			})
		})
	}
	if len(c.SignatureAlgorithms) > 0 {
		// RFC 8446 section 4.2.3: SignatureScheme supported_signature_algorithms<2..2^16-2>.
		addExt(b, ExtSignatureAlgorithms, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, s := range c.SignatureAlgorithms {
					b.AddUint16(uint16(s))
				}
			})
		})
	}
	if len(c.ALPN) > 0 {
		// RFC 7301 section 3.1: ProtocolName protocol_name_list<2..2^16-1>.
		addExt(b, ExtALPN, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, p := range c.ALPN {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
				}
			})
		})
	}
	if c.ExtendedMasterSecret {
		// RFC 7627 section 5.1: empty extension_data.
		addExt(b, ExtExtendedMasterSecret, func(*cryptobyte.Builder) {})
	}
	if c.RenegotiationInfo {
		// RFC 5746 section 3.4: empty renegotiated_connection<0..255>.
		addExt(b, ExtRenegotiationInfo, func(b *cryptobyte.Builder) { b.AddUint8(0) })
	}
	if len(c.SupportedVersions) > 0 {
		// RFC 8446 section 4.2.1: ProtocolVersion versions<2..254>.
		addExt(b, ExtSupportedVersions, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, v := range c.SupportedVersions {
					b.AddUint16(v)
				}
			})
		})
	}
	if len(c.Cookie) > 0 {
		// RFC 8446 section 4.2.2: opaque cookie<1..2^16-1>.
		addExt(b, ExtCookie, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.Cookie) })
		})
	}
	if len(c.PSKModes) > 0 {
		// RFC 8446 section 4.2.9: PskKeyExchangeMode ke_modes<1..255>.
		addExt(b, ExtPSKModes, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.PSKModes) })
		})
	}
	if c.OffersTLS13() {
		// RFC 8446 section 4.2.8: KeyShareEntry client_shares<0..2^16-1>.
		addExt(b, ExtKeyShare, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, ks := range c.KeyShares {
					b.AddUint16(uint16(ks.Group))
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ks.Data) })
				}
			})
		})
	}
	for _, e := range c.Extra {
		addExt(b, e.Type, func(b *cryptobyte.Builder) { b.AddBytes(e.Data) })
	}
	if padLen >= 0 {
		// RFC 7685 section 3: padding, filled with zero bytes.
		addExt(b, ExtPadding, func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, padLen)) })
	}
}
