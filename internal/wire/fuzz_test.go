package wire

import (
	"bytes"
	"crypto/tls"
	"reflect"
	"testing"
)

// Native fuzz targets. Seeds: real Go and Node.js flights in testdata/fuzz/
// (see capture_test.go) plus the synthetic ones added below. Run one with
//
//	go test -run '^$' -fuzz '^FuzzParseClientHello$' -fuzztime 20s ./internal/wire/

func syntheticHellos(f *testing.F) [][]byte {
	var out [][]byte
	for _, build := range []func() *ClientHello{
		func() *ClientHello {
			ch := NewClientHello13("example.com")
			ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, 0x0201}
			ks, _ := GenerateKeyShares(tls.X25519)
			ch.KeyShares = ks
			ch.ALPN = []string{"h2"}
			ch.Cookie = []byte("cookie")
			ch.PadTo = 600
			return ch
		},
		func() *ClientHello {
			ch := NewClientHello12("legacy.example")
			ch.SupportedGroups = []tls.CurveID{tls.CurveP256}
			return ch
		},
	} {
		msg, err := build().Marshal()
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, msg)
	}
	return out
}

// FuzzRecordReader reads records and messages from arbitrary bytes and feeds
// every message to its parser: no panic, exact byte accounting.
func FuzzRecordReader(f *testing.F) {
	for _, m := range syntheticHellos(f) {
		recs, _ := EncodeRecords(ContentHandshake, VersionTLS10, m, []int{7})
		f.Add(recs)
	}
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Add([]byte{21, 3, 3, 0, 2, 2, 40})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		r.MaxHandshakeSize = 1 << 16
		var total int
		for i := 0; i < 64; i++ {
			m, err := r.ReadMessage()
			if err != nil {
				break
			}
			total += len(m.Data)
			if m.ContentType == ContentHandshake {
				if len(m.Data) < HandshakeHeaderLen || HandshakeType(m.Data[0]) != m.HandshakeType || m.Records < 1 {
					t.Fatalf("bad handshake message %v of %d bytes", m.HandshakeType, len(m.Data))
				}
				switch m.HandshakeType {
				case TypeClientHello:
					ParseClientHello(m.Data)
				case TypeServerHello:
					ParseServerHello(m.Data)
				case TypeCertificate:
					ParseCertificate12(m.Data)
				case TypeServerKeyExchange:
					ParseServerKeyExchangeECDHE(m.Data, VersionTLS12)
					ParseServerKeyExchangeECDHE(m.Data, VersionTLS10)
				}
			} else if m.ContentType == ContentAlert {
				ParseAlert(m.Data)
			}
		}
		if r.BytesRead() > int64(len(data)) || int64(total) > r.BytesRead() {
			t.Fatalf("read %d bytes of %d, messages hold %d", r.BytesRead(), len(data), total)
		}
	})
}

// FuzzParseServerHello checks the parser never panics and its result is
// self-consistent.
func FuzzParseServerHello(f *testing.F) {
	f.Add(shSpec{version: VersionTLS12, random: helloRetryRequestRandom, suite: 0x1301, exts: []Extension{{ExtKeyShare, u16(0x11EC)}, {ExtSupportedVersions, u16(VersionTLS13)}, {ExtCookie, []byte{0, 1, 1}}}}.bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		sh, err := ParseServerHello(data)
		if err != nil {
			return
		}
		if sh.IsHRR != (sh.Random == helloRetryRequestRandom) {
			t.Fatal("IsHRR does not match the random")
		}
		if !sh.IsHRR && sh.SelectedGroup != sh.KeyShare.Group {
			t.Fatal("SelectedGroup differs from the key share group")
		}
		if sh.IsHRR && (sh.SupportedVersion != VersionTLS13 || len(sh.KeyShare.Data) != 0) {
			t.Fatal("inconsistent HelloRetryRequest accepted")
		}
		if !bytes.Equal(sh.Raw, data) || len(sh.Extensions) != len(sh.Extra)+countKnown(sh.Extensions) {
			t.Fatal("Raw or Extensions inconsistent")
		}
	})
}

func countKnown(exts []uint16) int {
	n := 0
	for _, e := range exts {
		switch e {
		case ExtSupportedVersions, ExtKeyShare, ExtCookie, ExtALPN, ExtExtendedMasterSecret, ExtRenegotiationInfo, ExtECPointFormats, ExtPreSharedKey:
			n++
		}
	}
	return n
}

// FuzzParseClientHello checks the parser never panics, and that any hello it
// accepts which also passes Validate survives Marshal -> Parse unchanged.
func FuzzParseClientHello(f *testing.F) {
	for _, m := range syntheticHellos(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ch, err := ParseClientHello(data)
		if err != nil {
			return
		}
		if !bytes.Equal(ch.Raw, data) {
			t.Fatal("Raw differs from the input")
		}
		if ch.Validate() != nil {
			return
		}
		msg, err := ch.Marshal()
		if err != nil {
			t.Fatalf("valid parsed hello does not marshal: %v", err)
		}
		again, err := ParseClientHello(msg)
		if err != nil {
			t.Fatalf("re-marshalled hello does not parse: %v", err)
		}
		a, b := fuzzNormalize(ch), fuzzNormalize(again)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the hello:\n%+v\n%+v", a, b)
		}
	})
}

// fuzzNormalize drops what Marshal does not reproduce: parse-only fields and
// the nil/empty distinction of an absent key_share.
func fuzzNormalize(c *ClientHello) *ClientHello {
	n := *c
	n.Raw, n.Extensions, n.PaddingLen, n.EarlyData, n.PSKIdentities = nil, nil, 0, false, 0
	if len(n.KeyShares) == 0 {
		n.KeyShares = nil
	}
	return &n
}

// FuzzParseAlert: exactly two bytes with a valid level parse, and round-trip.
func FuzzParseAlert(f *testing.F) {
	f.Add([]byte{2, 40})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAlert(data)
		valid := len(data) == 2 && (data[0] == 1 || data[0] == 2)
		if (err == nil) != valid {
			t.Fatalf("ParseAlert(%x) error %v", data, err)
		}
		if err == nil && !bytes.Equal(a.Marshal(), data) {
			t.Fatal("alert does not round-trip")
		}
		_ = a.String()
	})
}

// FuzzParseServerKeyExchange never panics and only accepts named curves.
func FuzzParseServerKeyExchange(f *testing.F) {
	f.Add(hsMsg(TypeServerKeyExchange, []byte{3, 0, 23, 1, 4, 4, 3, 0, 1, 9}), uint16(VersionTLS12))
	f.Fuzz(func(t *testing.T, data []byte, version uint16) {
		ske, err := ParseServerKeyExchangeECDHE(data, version)
		if err == nil && (len(ske.Public) == 0 || data[HandshakeHeaderLen] != 3) {
			t.Fatal("accepted a ServerKeyExchange without a named curve point")
		}
	})
}

// FuzzParseCertificate12 never panics; accepted entries are non-empty and fit.
func FuzzParseCertificate12(f *testing.F) {
	f.Add(hsMsg(TypeCertificate, []byte{0, 0, 4, 0, 0, 1, 0x30}))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificate12(data)
		if err != nil {
			return
		}
		total := 0
		for _, c := range certs {
			if len(c) == 0 {
				t.Fatal("empty certificate accepted")
			}
			total += 3 + len(c)
		}
		if total+3+HandshakeHeaderLen != len(data) {
			t.Fatalf("entries cover %d of %d bytes", total+3+HandshakeHeaderLen, len(data))
		}
	})
}
