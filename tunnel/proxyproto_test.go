package tunnel

import (
	"bytes"
	"crypto/tls"
	"net"
	"testing"
)

func FuzzParseProxyHeader(f *testing.F) {
	cs := tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, CurveID: tls.X25519MLKEM768, ServerName: "db.internal"}
	v4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	v6 := &net.TCPAddr{IP: net.ParseIP("::1"), Port: 5433}
	f.Add(ProxyHeader(v4, v4, cs))
	f.Add(ProxyHeader(v6, v6, cs))
	f.Add(ProxyHeader(&net.UnixAddr{Name: "@", Net: "unix"}, nil, tls.ConnectionState{}))
	f.Add([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, n, err := ParseProxyHeader(b)
		if err != nil {
			return
		}
		if n < 16 || n > len(b) {
			t.Fatalf("header length %d outside input of %d bytes", n, len(b))
		}
		// Whatever parsed must parse the same from the header bytes alone.
		again, n2, err := ParseProxyHeader(b[:n])
		if err != nil || n2 != n || len(again.TLVs) != len(info.TLVs) {
			t.Fatalf("re-parse of %d header bytes: n=%d err=%v", n, n2, err)
		}
	})
}

func TestProxyHeaderRoundTrip(t *testing.T) {
	cs := tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_CHACHA20_POLY1305_SHA256, CurveID: tls.SecP256r1MLKEM768, ServerName: "x"}
	src := &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1234}
	dst := &net.TCPAddr{IP: net.ParseIP("2001:db8::2"), Port: 5433}
	h := ProxyHeader(src, dst, cs)
	info, n, err := ParseProxyHeader(append(h, "payload"...))
	if err != nil || n != len(h) {
		t.Fatalf("parse: n=%d err=%v", n, err)
	}
	if info.Source.String() != src.String() || info.Dest.String() != dst.String() {
		t.Fatalf("addresses %v -> %v", info.Source, info.Dest)
	}
	if string(info.SSL[PP2SubtypeSSLGroup]) != "SecP256r1MLKEM768" || string(info.SSL[PP2SubtypeSSLCipher]) != "TLS_CHACHA20_POLY1305_SHA256" {
		t.Fatalf("SSL sub-TLVs %q", info.SSL)
	}
	if info.SSLClient != pp2ClientSSL {
		t.Fatalf("client flags 0x%02x without a client certificate", info.SSLClient)
	}
	if _, ok := info.TLVs[PP2TypePeerIdentity]; ok {
		t.Fatal("identity TLV without a client certificate")
	}
	// Truncated and duplicated TLVs are rejected.
	if _, _, err := ParseProxyHeader(h[:len(h)-1]); err == nil {
		t.Fatal("truncated header accepted")
	}
	dup := append([]byte(nil), h...)
	dup = appendTLV(dup, PP2TypeAuthority, []byte("y"))
	dup[14], dup[15] = byte((len(dup)-16)>>8), byte(len(dup)-16)
	if _, _, err := ParseProxyHeader(dup); err == nil || !bytes.Contains([]byte(err.Error()), []byte("duplicate")) {
		t.Fatalf("duplicate authority TLV: %v", err)
	}
}
