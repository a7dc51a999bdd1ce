package wire

import (
	"bytes"
	"crypto/tls"
	"errors"
	"reflect"
	"testing"
)

func mustShares(t *testing.T, groups ...tls.CurveID) []KeyShare {
	t.Helper()
	ks, err := GenerateKeyShares(groups...)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// normalize clears the parse-only fields so a parsed hello compares equal to
// the built one.
func normalize(c *ClientHello) *ClientHello {
	n := *c
	n.Raw, n.Extensions, n.PadTo, n.RecordVersion, n.PaddingLen = nil, nil, 0, 0, -1
	if n.CompressionMethods == nil {
		n.CompressionMethods = []uint8{0}
	}
	if n.KeyShares == nil && n.OffersTLS13() {
		n.KeyShares = []KeyShare{}
	}
	return &n
}

func TestClientHelloRoundTrip(t *testing.T) {
	cases := []struct {
		name  string
		build func() *ClientHello
	}{
		{"tls13 hybrid share", func() *ClientHello {
			ch := NewClientHello13("example.com")
			ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519}
			ch.KeyShares = mustShares(t, tls.X25519MLKEM768, tls.X25519)
			ch.ALPN = []string{"h2", "http/1.1"}
			return ch
		}},
		{"tls13 empty key_share unknown groups", func() *ClientHello {
			ch := NewClientHello13("")
			ch.SupportedGroups = []tls.CurveID{0x0201, 0x11EE, 0x6399, 0x1234}
			return ch
		}},
		{"tls13 cookie and extra", func() *ClientHello {
			ch := NewClientHello13("a.example")
			ch.SupportedGroups = []tls.CurveID{tls.CurveP256}
			ch.KeyShares = mustShares(t, tls.CurveP256)
			ch.Cookie = []byte{1, 2, 3}
			ch.Extra = []Extension{{Type: 0x0a0a, Data: []byte{}}, {Type: ExtStatusRequest, Data: []byte{1, 0, 0, 0, 0}}}
			return ch
		}},
		{"tls12 only", func() *ClientHello {
			ch := NewClientHello12("legacy.example")
			ch.SupportedGroups = []tls.CurveID{tls.CurveP256, tls.CurveP384}
			return ch
		}},
		{"tls10 no extensions", func() *ClientHello {
			return &ClientHello{LegacyVersion: VersionTLS10, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}, SessionID: []byte{}, PaddingLen: -1}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := tc.build()
			msg, err := ch.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseClientHello(msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Raw) != len(msg) {
				t.Errorf("Raw is %d bytes, message %d", len(got.Raw), len(msg))
			}
			// Extensions must list exactly what the builder produced, in order.
			want := append(ch.builtExtensions(), []uint16{}...)
			for _, e := range ch.Extra {
				want = append(want, e.Type)
			}
			if len(want) == 0 {
				want = nil
			}
			if !reflect.DeepEqual(got.Extensions, want) {
				t.Errorf("extensions %v, want %v", got.Extensions, want)
			}
			g, w := normalize(got), normalize(ch)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("round trip mismatch:\n got %+v\nwant %+v", g, w)
			}
			// Re-marshalling the parsed hello gives the same bytes.
			again, err := got.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, msg) {
				t.Errorf("re-marshal differs: %d vs %d bytes", len(again), len(msg))
			}
		})
	}
}

func TestClientHelloValidate(t *testing.T) {
	base := func() *ClientHello {
		ch := NewClientHello13("example.com")
		ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519}
		return ch
	}
	share := func(g tls.CurveID) KeyShare { return KeyShare{Group: g, Data: []byte{1}} }
	cases := []struct {
		name   string
		mutate func(*ClientHello)
		want   string // substring of the error; "" = valid
	}{
		{"valid empty shares", func(*ClientHello) {}, ""},
		{"valid ordered shares", func(c *ClientHello) { c.KeyShares = []KeyShare{share(tls.X25519MLKEM768), share(tls.X25519)} }, ""},
		{"share not in groups", func(c *ClientHello) { c.KeyShares = []KeyShare{share(tls.CurveP256)} }, "not in supported_groups"},
		{"shares out of order", func(c *ClientHello) { c.KeyShares = []KeyShare{share(tls.X25519), share(tls.X25519MLKEM768)} }, "order"},
		{"duplicate share", func(c *ClientHello) { c.KeyShares = []KeyShare{share(tls.X25519), share(tls.X25519)} }, "duplicated"},
		{"empty share data", func(c *ClientHello) { c.KeyShares = []KeyShare{{Group: tls.X25519}} }, "is empty"},
		{"no psk modes", func(c *ClientHello) { c.PSKModes = nil }, "psk_key_exchange_modes"},
		{"no groups", func(c *ClientHello) { c.SupportedGroups = nil }, "supported_groups"},
		{"no sigalgs", func(c *ClientHello) { c.SignatureAlgorithms = nil }, "signature_algorithms"},
		{"tls13 legacy version", func(c *ClientHello) { c.LegacyVersion = VersionTLS13 }, "legacy_version"},
		{"shares without 1.3", func(c *ClientHello) {
			c.SupportedVersions = []uint16{VersionTLS12}
			c.KeyShares = []KeyShare{share(tls.X25519)}
		}, "TLS 1.3"},
		{"ip sni", func(c *ClientHello) { c.ServerName = "127.0.0.1" }, "IP address"},
		{"long session id", func(c *ClientHello) { c.SessionID = make([]byte, 33) }, "at most 32"},
		{"no suites", func(c *ClientHello) { c.CipherSuites = nil }, "cipher suites"},
		{"empty alpn", func(c *ClientHello) { c.ALPN = []string{""} }, "ALPN"},
		{"extra duplicates built", func(c *ClientHello) { c.Extra = []Extension{{Type: ExtKeyShare}} }, "duplicates"},
		{"extra psk", func(c *ClientHello) { c.Extra = []Extension{{Type: ExtPreSharedKey}} }, "resumption"},
		{"extra padding with PadTo", func(c *ClientHello) { c.PadTo = 512; c.Extra = []Extension{{Type: ExtPadding}} }, "PadTo"},
		{"no null compression", func(c *ClientHello) { c.CompressionMethods = []uint8{1} }, "null"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := base()
			tc.mutate(ch)
			_, err := ch.Marshal()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidClientHello) || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Fatalf("error %v, want one containing %q wrapping ErrInvalidClientHello", err, tc.want)
			}
		})
	}
}

func TestClientHelloPadTo(t *testing.T) {
	ch := NewClientHello13("example.com")
	ch.SupportedGroups = []tls.CurveID{tls.X25519}
	ch.KeyShares = mustShares(t, tls.X25519)
	plain, err := ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	n := len(plain)
	for _, tc := range []struct{ padTo, want, padLen int }{
		{0, n, -1},
		{n, n, -1},
		{n + 1, n + 4, 0}, // gap smaller than an empty padding extension
		{n + 3, n + 4, 0},
		{n + 4, n + 4, 0},
		{n + 5, n + 5, 1},
		{4096, 4096, 4096 - n - 4},
		{16384, 16384, 16384 - n - 4},
		{20000, 20000, 20000 - n - 4},
	} {
		ch.PadTo = tc.padTo
		msg, err := ch.Marshal()
		if err != nil {
			t.Fatalf("PadTo %d: %v", tc.padTo, err)
		}
		if len(msg) != tc.want {
			t.Errorf("PadTo %d: %d bytes, want %d", tc.padTo, len(msg), tc.want)
		}
		p, err := ParseClientHello(msg)
		if err != nil {
			t.Fatalf("PadTo %d: parse: %v", tc.padTo, err)
		}
		if p.PaddingLen != tc.padLen {
			t.Errorf("PadTo %d: padding %d, want %d", tc.padTo, p.PaddingLen, tc.padLen)
		}
		if tc.padLen >= 0 && p.Extensions[len(p.Extensions)-1] != ExtPadding {
			t.Errorf("PadTo %d: padding is not the last extension: %v", tc.padTo, p.Extensions)
		}
	}
	ch.PadTo = 70000
	if _, err := ch.Marshal(); err == nil {
		t.Error("PadTo 70000 marshalled; want an error (extensions block limit)")
	}
}
