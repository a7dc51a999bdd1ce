package wire

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestEncodeRecords(t *testing.T) {
	payload := make([]byte, 40000)
	rand.Read(payload)
	for _, tc := range []struct {
		name  string
		frags []int
		want  []int // record payload sizes
		err   bool
	}{
		{"default", nil, []int{16384, 16384, 7232}, false},
		{"fragments", []int{100, 1}, []int{100, 1, 16384, 16384, 7131}, false},
		{"exact", []int{16384, 16384, 7232}, []int{16384, 16384, 7232}, false},
		{"zero", []int{0}, nil, true},
		{"too big", []int{16385}, nil, true},
		{"beyond payload", []int{16384, 16384, 16384}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := EncodeRecords(ContentHandshake, VersionTLS10, payload, tc.frags)
			if tc.err {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := NewReader(bytes.NewReader(out))
			var got []int
			var joined []byte
			for {
				rec, err := r.ReadRecord()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Type != ContentHandshake || rec.Version != VersionTLS10 {
					t.Fatalf("record %v %#x", rec.Type, rec.Version)
				}
				got = append(got, len(rec.Payload))
				joined = append(joined, rec.Payload...)
			}
			if !equalInts(got, tc.want) || !bytes.Equal(joined, payload) {
				t.Fatalf("records %v, want %v (payload equal %v)", got, tc.want, bytes.Equal(joined, payload))
			}
			if r.BytesRead() != int64(len(out)) {
				t.Errorf("BytesRead %d, want %d", r.BytesRead(), len(out))
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestReaderReassembly splits a 20 KB ClientHello into tiny records, the way
// a record-fragmenting client does, and reads it back.
func TestReaderReassembly(t *testing.T) {
	ch := NewClientHello13("example.com")
	ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768}
	ch.KeyShares = mustShares(t, tls.X25519MLKEM768)
	ch.PadTo = 20000
	out, err := ch.MarshalRecords(1, 2, 3, 100) // header split across records
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(bytes.NewReader(out))
	m, err := r.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if m.HandshakeType != TypeClientHello || len(m.Data) != 20000 || m.Records != 6 || m.RecordVersion != VersionTLS10 {
		t.Fatalf("message %v of %d bytes in %d records", m.HandshakeType, len(m.Data), m.Records)
	}
	p, err := ParseClientHello(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if p.KeyShares[0].Group != tls.X25519MLKEM768 || len(p.KeyShares[0].Data) != 1216 {
		t.Fatalf("parsed key shares %v", p.KeyShareGroups())
	}
	if _, err := r.ReadMessage(); err != io.EOF {
		t.Fatalf("after the message: %v, want io.EOF", err)
	}
}

func hsMsg(typ HandshakeType, body []byte) []byte {
	return append([]byte{byte(typ), byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

func rec(typ ContentType, payload []byte) []byte {
	out, err := Record{Type: typ, Version: VersionTLS12, Payload: payload}.Marshal()
	if err != nil {
		panic(err)
	}
	return out
}

func TestReaderMessages(t *testing.T) {
	a, b, c := hsMsg(TypeServerHello, []byte("aaaa")), hsMsg(TypeCertificate, []byte("bbbbbb")), hsMsg(TypeServerHelloDone, nil)
	// Three messages: a and the start of b share a record, b ends with c.
	stream := bytes.Join([][]byte{
		rec(ContentHandshake, append(append([]byte{}, a...), b[:3]...)),
		rec(ContentHandshake, append(append([]byte{}, b[3:]...), c...)),
		rec(ContentChangeCipherSpec, []byte{1}),
		rec(ContentApplicationData, []byte("ciphertext")),
	}, nil)
	r := NewReader(bytes.NewReader(stream))
	for i, want := range []struct {
		ct   ContentType
		data []byte
		recs int
	}{
		{ContentHandshake, a, 1}, {ContentHandshake, b, 2}, {ContentHandshake, c, 1},
		{ContentChangeCipherSpec, []byte{1}, 1}, {ContentApplicationData, []byte("ciphertext"), 1},
	} {
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.ContentType != want.ct || !bytes.Equal(m.Data, want.data) || m.Records != want.recs {
			t.Fatalf("message %d: %v %q in %d records, want %v %q in %d", i, m.ContentType, m.Data, m.Records, want.ct, want.data, want.recs)
		}
	}
	if _, err := r.ReadMessage(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func TestReaderErrors(t *testing.T) {
	big := hsMsg(TypeCertificate, make([]byte, 300<<10))
	cases := []struct {
		name     string
		stream   []byte
		notTLS   string // expected NotTLSError.Protocol
		is       error
		setLimit func(*Reader)
	}{
		{"http", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), "http", nil, nil},
		{"ssh", []byte("SSH-2.0-OpenSSH_9.6\r\n"), "ssh", nil, nil},
		{"smtp", []byte("220 mail.example ESMTP\r\n"), "smtp/ftp", nil, nil},
		{"pop3 short", []byte("+OK"), "pop3", nil, nil},
		{"random", []byte{0x9c, 0x01, 0xfe, 0x77, 0x00, 0x12}, "binary", nil, nil},
		{"text", []byte("hello world\n"), "text", nil, nil},
		{"bad version", []byte{0x16, 0x05, 0x01, 0, 1, 0}, "binary", nil, nil},
		{"empty", nil, "", io.EOF, nil},
		{"short header", []byte{0x16, 0x03, 0x03}, "", io.ErrUnexpectedEOF, nil},
		{"short payload", []byte{0x16, 0x03, 0x03, 0x00, 0x10, 1, 2}, "", io.ErrUnexpectedEOF, nil},
		{"partial message then EOF", rec(ContentHandshake, hsMsg(TypeServerHello, []byte("abc"))[:5]), "", io.ErrUnexpectedEOF, nil},
		{"record overflow", []byte{0x17, 0x03, 0x03, 0x48, 0x01}, "", ErrMalformed, nil},
		{"custom record limit", rec(ContentHandshake, hsMsg(TypeServerHello, make([]byte, 200))), "", ErrMalformed, func(r *Reader) { r.MaxRecordSize = 100 }},
		{"empty handshake record", []byte{0x16, 0x03, 0x03, 0, 0}, "", ErrMalformed, nil},
		{"interleaved alert", append(rec(ContentHandshake, hsMsg(TypeServerHello, []byte("abc"))[:5]), rec(ContentAlert, []byte{2, 40})...), "", ErrMalformed, nil},
		{"handshake too large", func() []byte { out, _ := EncodeRecords(ContentHandshake, VersionTLS12, big, nil); return out }(), "", ErrMalformed, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tc.stream))
			if tc.setLimit != nil {
				tc.setLimit(r)
			}
			_, err := r.ReadMessage()
			var nt *NotTLSError
			if tc.notTLS != "" {
				if !errors.As(err, &nt) || nt.Protocol != tc.notTLS {
					t.Fatalf("error %v, want NotTLSError %q", err, tc.notTLS)
				}
				if ClassifyError(err) != OutcomeNotTLS || len(nt.Prefix) == 0 || len(nt.Prefix) > 5 {
					t.Fatalf("classified %s, prefix %q", ClassifyError(err), nt.Prefix)
				}
				return
			}
			if errors.As(err, &nt) {
				t.Fatalf("unexpected NotTLSError: %v", err)
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
		})
	}
}

// endlessCCS is a hostile server's stream: change_cipher_spec records
// forever.
type endlessCCS struct{ served int }

func (e *endlessCCS) Read(p []byte) (int, error) {
	one := rec(ContentChangeCipherSpec, []byte{1})
	n := 0
	for n+len(one) <= len(p) {
		n += copy(p[n:], one)
		e.served++
	}
	if n == 0 {
		n = copy(p, one[:len(p)])
	}
	return n, nil
}

// TestReaderCapsChangeCipherSpec: a peer that sends change_cipher_spec
// records without end is stopped at the cap instead of being read until
// the caller's deadline.
func TestReaderCapsChangeCipherSpec(t *testing.T) {
	r := NewReader(&endlessCCS{})
	var err error
	n := 0
	for ; n < 1000 && err == nil; n++ {
		_, err = r.ReadMessage()
	}
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "change_cipher_spec") {
		t.Fatalf("after %d messages: %v, want a malformed change_cipher_spec error", n, err)
	}
	if n != DefaultMaxChangeCipherSpec+1 {
		t.Errorf("error at message %d, want %d", n, DefaultMaxChangeCipherSpec+1)
	}
	r = NewReader(&endlessCCS{})
	r.MaxChangeCipherSpec = 5
	for n = 0; n < 5; n++ {
		if _, err := r.ReadMessage(); err != nil {
			t.Fatalf("CCS %d under a cap of 5: %v", n+1, err)
		}
	}
	if _, err := r.ReadMessage(); !errors.Is(err, ErrMalformed) {
		t.Errorf("6th CCS under a cap of 5: %v", err)
	}
}
