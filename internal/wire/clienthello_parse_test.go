package wire

import (
	"crypto/tls"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// rawClientHello builds a ClientHello with the given raw extensions, bypassing
// the builder's validation, to feed the parser what real clients (and broken
// ones) send.
func rawClientHello(exts ...Extension) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(uint8(TypeClientHello))
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(VersionTLS12)
		b.AddBytes(make([]byte, 32))
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {})
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x1301) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range exts {
				addExt(b, e.Type, func(b *cryptobyte.Builder) { b.AddBytes(e.Data) })
			}
		})
	})
	return b.BytesOrPanic()
}

func TestParseClientHelloResumption(t *testing.T) {
	// pre_shared_key: one identity "tkt" (age 7) and one 32-byte binder.
	psk := append(append(u16(9, 3), []byte("tkt\x00\x00\x00\x07")...), append(u16(33), append([]byte{32}, make([]byte, 32)...)...)...)
	msg := rawClientHello(
		Extension{ExtSupportedVersions, []byte{2, 3, 4}},
		Extension{ExtEarlyData, nil},
		Extension{ExtPadding, []byte{0, 0, 0}},
		Extension{ExtPreSharedKey, psk},
	)
	ch, err := ParseClientHello(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.EarlyData || ch.PSKIdentities != 1 || !ch.Resumption() || ch.PaddingLen != 3 || !ch.OffersTLS13() {
		t.Fatalf("%+v", ch)
	}
	tkt := rawClientHello(Extension{ExtSessionTicket, []byte("ticket")})
	if ch, err := ParseClientHello(tkt); err != nil || !ch.Resumption() {
		t.Fatalf("TLS 1.2 ticket: %v %v", err, ch)
	}
}

func TestParseClientHelloStrict(t *testing.T) {
	psk := append(append(u16(9, 3), []byte("tkt\x00\x00\x00\x07")...), append(u16(33), append([]byte{32}, make([]byte, 32)...)...)...)
	for name, exts := range map[string][]Extension{
		"psk not last":           {{ExtPreSharedKey, psk}, {ExtEarlyData, nil}},
		"duplicate extension":    {{ExtExtendedMasterSecret, nil}, {ExtExtendedMasterSecret, nil}},
		"duplicate share group":  {{ExtKeyShare, append(u16(10), append(u16(29, 1), 5, 0, 29, 0, 1, 6)...)}},
		"empty share":            {{ExtKeyShare, u16(4, 29, 0)}},
		"odd groups":             {{ExtSupportedGroups, []byte{0, 3, 0, 29, 0}}},
		"empty groups":           {{ExtSupportedGroups, u16(0)}},
		"sni trailing":           {{ExtServerName, []byte{0, 4, 0, 0, 1, 'a', 0}}},
		"sni empty name":         {{ExtServerName, []byte{0, 3, 0, 0, 0}}},
		"sni two host names":     {{ExtServerName, []byte{0, 8, 0, 0, 1, 'a', 0, 0, 1, 'b'}}},
		"alpn empty protocol":    {{ExtALPN, []byte{0, 1, 0}}},
		"versions odd":           {{ExtSupportedVersions, []byte{3, 3, 4, 3}}},
		"ems with data":          {{ExtExtendedMasterSecret, []byte{0}}},
		"early data with data":   {{ExtEarlyData, []byte{0}}},
		"cookie empty":           {{ExtCookie, u16(0)}},
		"psk modes empty":        {{ExtPSKModes, []byte{0}}},
		"psk binder mismatch":    {{ExtPreSharedKey, append(append(u16(9, 3), []byte("tkt\x00\x00\x00\x07")...), u16(0)...)}},
		"sigalgs odd":            {{ExtSignatureAlgorithms, []byte{0, 1, 4}}},
		"reneg length mismatch":  {{ExtRenegotiationInfo, []byte{2, 0}}},
		"point formats empty":    {{ExtECPointFormats, []byte{0}}},
		"key share list overrun": {{ExtKeyShare, u16(9, 29, 1)}},
	} {
		if _, err := ParseClientHello(rawClientHello(exts...)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", name, err)
		}
	}
	good := rawClientHello(Extension{ExtSupportedGroups, u16(2, 29)})
	if _, err := ParseClientHello(good); err != nil {
		t.Fatal(err)
	}
	for name, msg := range map[string][]byte{
		"trailing":     append(append([]byte{}, good[:3]...), append([]byte{good[3] + 1}, append(good[4:], 0)...)...),
		"truncated":    good[:len(good)-1],
		"server hello": append([]byte{2}, good[1:]...),
		"header only":  good[:4],
	} {
		if _, err := ParseClientHello(msg); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", name, err)
		}
	}
	// Unknown extensions and GREASE are kept, in order.
	ch, err := ParseClientHello(rawClientHello(Extension{0x1a1a, nil}, Extension{ExtSupportedGroups, u16(4, 0x2a2a, 29)}, Extension{0xfe0d, []byte{1}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Extra) != 2 || ch.Extra[1].Type != 0xfe0d || len(ch.Extensions) != 3 || ch.SupportedGroups[1] != tls.X25519 {
		t.Fatalf("%+v", ch)
	}
}
