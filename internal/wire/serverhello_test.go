package wire

import (
	"crypto/tls"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// shSpec describes a ServerHello for tests; exts are raw extensions.
type shSpec struct {
	version uint16
	random  [32]byte
	sid     []byte
	suite   uint16
	exts    []Extension
	noExts  bool
	trailer []byte
}

func (s shSpec) bytes() []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(uint8(TypeServerHello))
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(s.version)
		b.AddBytes(s.random[:])
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.sid) })
		b.AddUint16(s.suite)
		b.AddUint8(0)
		if !s.noExts {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, e := range s.exts {
					addExt(b, e.Type, func(b *cryptobyte.Builder) { b.AddBytes(e.Data) })
				}
			})
		}
		b.AddBytes(s.trailer)
	})
	return b.BytesOrPanic()
}

func u16(v ...uint16) []byte {
	var out []byte
	for _, x := range v {
		out = append(out, byte(x>>8), byte(x))
	}
	return out
}

func TestParseServerHello(t *testing.T) {
	sid := make([]byte, 32)
	sv13 := Extension{ExtSupportedVersions, u16(VersionTLS13)}
	share := append(u16(uint16(tls.X25519), 32), make([]byte, 32)...)
	var plain [32]byte
	plain[0] = 7
	down := plain
	copy(down[24:], "DOWNGRD\x01")
	cases := []struct {
		name  string
		spec  shSpec
		err   bool
		check func(t *testing.T, sh *ServerHello)
	}{
		{"tls13 server hello", shSpec{version: VersionTLS12, random: plain, sid: sid, suite: 0x1301, exts: []Extension{sv13, {ExtKeyShare, share}}}, false,
			func(t *testing.T, sh *ServerHello) {
				if sh.IsHRR || sh.Version() != VersionTLS13 || sh.SelectedGroup != tls.X25519 || len(sh.KeyShare.Data) != 32 || len(sh.SessionID) != 32 {
					t.Fatalf("%+v", sh)
				}
			}},
		{"hrr with cookie", shSpec{version: VersionTLS12, random: helloRetryRequestRandom, suite: 0x1301, exts: []Extension{{ExtKeyShare, u16(0x11EC)}, sv13, {ExtCookie, []byte{0, 2, 9, 9}}}}, false,
			func(t *testing.T, sh *ServerHello) {
				if !sh.IsHRR || sh.SelectedGroup != 0x11EC || string(sh.Cookie) != "\x09\x09" || sh.KeyShare.Data != nil {
					t.Fatalf("%+v", sh)
				}
				if len(sh.Extensions) != 3 || sh.Extensions[0] != ExtKeyShare {
					t.Fatalf("extensions %v", sh.Extensions)
				}
			}},
		{"tls12 no extensions", shSpec{version: VersionTLS12, random: down, suite: 0xc02f, noExts: true}, false,
			func(t *testing.T, sh *ServerHello) {
				if sh.Version() != VersionTLS12 || sh.DowngradeSentinel() != VersionTLS12 || sh.Extensions != nil {
					t.Fatalf("%+v", sh)
				}
			}},
		{"tls12 alpn ems reneg", shSpec{version: VersionTLS12, random: plain, suite: 0xc02f, exts: []Extension{
			{ExtALPN, []byte{0, 3, 2, 'h', '2'}}, {ExtExtendedMasterSecret, nil}, {ExtRenegotiationInfo, []byte{0}}, {ExtECPointFormats, []byte{1, 0}}, {0xff02, []byte("x")}}}, false,
			func(t *testing.T, sh *ServerHello) {
				if sh.ALPN != "h2" || !sh.ExtendedMasterSecret || !sh.RenegotiationInfo || len(sh.ECPointFormats) != 1 || len(sh.Extra) != 1 || sh.DowngradeSentinel() != 0 {
					t.Fatalf("%+v", sh)
				}
			}},
		{"alpn in tls13 server hello", shSpec{version: VersionTLS12, random: plain, sid: sid, suite: 0x1301, exts: []Extension{sv13, {ExtKeyShare, share}, {ExtALPN, []byte{0, 3, 2, 'h', '2'}}}}, true, nil},
		{"cookie in tls13 server hello", shSpec{version: VersionTLS12, random: plain, sid: sid, suite: 0x1301, exts: []Extension{sv13, {ExtKeyShare, share}, {ExtCookie, []byte{0, 1, 1}}}}, true, nil},
		{"psk in hrr", shSpec{version: VersionTLS12, random: helloRetryRequestRandom, suite: 0x1301, exts: []Extension{sv13, {ExtKeyShare, u16(29)}, {ExtPreSharedKey, u16(0)}}}, true, nil},
		{"unknown extension in tls13 server hello", shSpec{version: VersionTLS12, random: plain, sid: sid, suite: 0x1301, exts: []Extension{sv13, {ExtKeyShare, share}, {0xfe0d, nil}}}, false,
			func(t *testing.T, sh *ServerHello) {
				if len(sh.Extra) != 1 || sh.Extra[0].Type != 0xfe0d {
					t.Fatalf("extra %v", sh.Extra)
				}
			}},
		{"trailing bytes", shSpec{version: VersionTLS12, random: plain, suite: 0x1301, exts: []Extension{sv13}, trailer: []byte{0}}, true, nil},
		{"duplicate extension", shSpec{version: VersionTLS12, random: plain, suite: 0x1301, exts: []Extension{sv13, sv13}}, true, nil},
		{"hrr without supported_versions", shSpec{version: VersionTLS12, random: helloRetryRequestRandom, suite: 0x1301, exts: []Extension{{ExtKeyShare, u16(0x11EC)}}}, true, nil},
		{"hrr changing nothing", shSpec{version: VersionTLS12, random: helloRetryRequestRandom, suite: 0x1301, exts: []Extension{sv13}}, true, nil},
		{"hrr key share as entry", shSpec{version: VersionTLS12, random: helloRetryRequestRandom, suite: 0x1301, exts: []Extension{sv13, {ExtKeyShare, share}}}, true, nil},
		{"sh key share group only", shSpec{version: VersionTLS12, random: plain, suite: 0x1301, exts: []Extension{sv13, {ExtKeyShare, u16(29)}}}, true, nil},
		{"sh empty key share", shSpec{version: VersionTLS12, random: plain, suite: 0x1301, exts: []Extension{sv13, {ExtKeyShare, u16(29, 0)}}}, true, nil},
		{"supported_versions list", shSpec{version: VersionTLS12, random: plain, suite: 0x1301, exts: []Extension{{ExtSupportedVersions, []byte{2, 3, 4}}}}, true, nil},
		{"two alpn protocols", shSpec{version: VersionTLS12, random: plain, suite: 0xc02f, exts: []Extension{{ExtALPN, []byte{0, 6, 2, 'h', '2', 2, 'h', '3'}}}}, true, nil},
		{"long session id", shSpec{version: VersionTLS12, random: plain, sid: make([]byte, 33), suite: 0xc02f, noExts: true}, true, nil},
		{"truncated extension", shSpec{version: VersionTLS12, random: plain, suite: 0xc02f, noExts: true, trailer: []byte{0, 4, 0, 43, 0}}, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sh, err := ParseServerHello(tc.spec.bytes())
			if tc.err {
				if err == nil || !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, sh)
		})
	}
}

func TestParseServerHelloFraming(t *testing.T) {
	good := shSpec{version: VersionTLS12, suite: 0xc02f, noExts: true}.bytes()
	for name, msg := range map[string][]byte{
		"empty":        nil,
		"wrong type":   append([]byte{byte(TypeCertificate)}, good[1:]...),
		"length short": append(append([]byte{}, good[:3]...), append([]byte{good[3] - 1}, good[4:]...)...),
		"length long":  append(append([]byte{}, good...), 0),
		"truncated":    good[:20],
	} {
		if _, err := ParseServerHello(msg); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", name, err)
		}
	}
}

func TestCheckAgainst(t *testing.T) {
	ch := NewClientHello13("x.example")
	ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519}
	ch.KeyShares = []KeyShare{{tls.X25519, []byte{1}}}
	base := func() *ServerHello {
		return &ServerHello{LegacyVersion: VersionTLS12, SessionID: ch.SessionID, CipherSuite: 0x1301, SupportedVersion: VersionTLS13}
	}
	cases := []struct {
		name string
		mod  func(*ServerHello)
		ok   bool
	}{
		{"sh for shared group", func(s *ServerHello) { s.SelectedGroup = tls.X25519 }, true},
		{"hrr for offered group", func(s *ServerHello) { s.IsHRR = true; s.SelectedGroup = tls.X25519MLKEM768 }, true},
		{"hrr for group with share", func(s *ServerHello) { s.IsHRR = true; s.SelectedGroup = tls.X25519 }, false},
		{"hrr for unoffered group", func(s *ServerHello) { s.IsHRR = true; s.SelectedGroup = tls.CurveP256 }, false},
		{"sh without our share", func(s *ServerHello) { s.SelectedGroup = tls.X25519MLKEM768 }, false},
		{"no key share", func(s *ServerHello) {}, false},
		{"session id not echoed", func(s *ServerHello) { s.SelectedGroup = tls.X25519; s.SessionID = nil }, false},
		{"unoffered suite", func(s *ServerHello) { s.SelectedGroup = tls.X25519; s.CipherSuite = 0x1304 }, false},
		{"unoffered version", func(s *ServerHello) { s.SelectedGroup = tls.X25519; s.SupportedVersion = 0x7f1c }, false},
	}
	for _, tc := range cases {
		s := base()
		tc.mod(s)
		if err := s.CheckAgainst(ch); (err == nil) != tc.ok {
			t.Errorf("%s: CheckAgainst = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if _, err := ch.Retry(&ServerHello{SelectedGroup: tls.X25519MLKEM768}); err == nil {
		t.Error("Retry with a ServerHello: want an error")
	}
}
