package wire

import (
	"bytes"
	"crypto/tls"
	"testing"
)

// Benchmarks for the hot paths of observe (parsing captured hellos) and
// scan/canary (building probes). Run with
//
//	go test -run '^$' -bench . -benchtime 2000x ./internal/wire/

func benchHello(b *testing.B) *ClientHello {
	ch := NewClientHello13("example.com")
	ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}
	ks, err := GenerateKeyShares(tls.X25519MLKEM768, tls.X25519)
	if err != nil {
		b.Fatal(err)
	}
	ch.KeyShares = ks
	ch.ALPN = []string{"h2", "http/1.1"}
	return ch
}

func BenchmarkParseClientHello(b *testing.B) {
	msg, err := benchHello(b).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseClientHello(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalClientHello(b *testing.B) {
	ch := benchHello(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ch.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReaderFragmented(b *testing.B) {
	ch := benchHello(b)
	recs, err := ch.MarshalRecords(100, 100, 100)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(recs)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewReader(bytes.NewReader(recs)).ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerateKeyShareX25519MLKEM768(b *testing.B) {
	for b.Loop() {
		if _, err := GenerateKeyShare(tls.X25519MLKEM768); err != nil {
			b.Fatal(err)
		}
	}
}
