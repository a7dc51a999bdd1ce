package tunnel

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/pqtls/pqtls"
)

func FuzzParseProxyHeader(f *testing.F) {
	cs := tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, CurveID: tls.X25519MLKEM768, ServerName: "db.internal"}
	v4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	v6 := &net.TCPAddr{IP: net.ParseIP("::1"), Port: 5433}
	f.Add(ProxyHeader(v4, v4, cs, pqtls.PeerIdentity(cs)))
	f.Add(ProxyHeader(v6, v6, cs, pqtls.PeerIdentity(cs)))
	f.Add(ProxyHeader(&net.UnixAddr{Name: "@", Net: "unix"}, nil, tls.ConnectionState{}, ""))
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
	h := ProxyHeader(src, dst, cs, pqtls.PeerIdentity(cs))
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

// TestProxyHeaderOverlongValues: a peer certificate with an enormous CN or
// URI (or a huge SNI) leaves those TLVs out rather than truncating them (a
// cut identity could name someone else) or overflowing the 16-bit lengths.
func TestProxyHeaderOverlongValues(t *testing.T) {
	long := strings.Repeat("a", 70000)
	u, _ := url.Parse("spiffe://td/" + long)
	cs := tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, CurveID: tls.X25519MLKEM768,
		ServerName:       strings.Repeat("s", 5000),
		PeerCertificates: []*x509.Certificate{{Subject: pkix.Name{CommonName: long}, URIs: []*url.URL{u}}}}
	v4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	h := ProxyHeader(v4, v4, cs, pqtls.PeerIdentity(cs))
	info, n, err := ParseProxyHeader(h)
	if err != nil || n != len(h) {
		t.Fatalf("parse: n=%d of %d, %v", n, len(h), err)
	}
	for typ, v := range info.TLVs {
		if len(v) > maxTLV-tlvHeader {
			t.Errorf("TLV 0x%02x carries %d bytes", typ, len(v))
		}
	}
	if _, ok := info.TLVs[PP2TypePeerIdentity]; ok {
		t.Error("over-long identity sent (truncated) instead of left out")
	}
	if _, ok := info.SSL[PP2SubtypeSSLCN]; ok {
		t.Error("over-long CN sent instead of left out")
	}
	if string(info.SSL[PP2SubtypeSSLGroup]) != "X25519MLKEM768" {
		t.Errorf("group TLV %q", info.SSL[PP2SubtypeSSLGroup])
	}
}

// TestProxyHeaderCertFlags: PP2_CLIENT_CERT_CONN only when the certificate
// was presented on this connection, PP2_CLIENT_CERT_SESS whenever the
// session has one, neither without a client certificate.
func TestProxyHeaderCertFlags(t *testing.T) {
	v4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "api"}}
	for _, c := range []struct {
		certs  []*x509.Certificate
		resume bool
		want   byte
	}{
		{nil, false, 0x01},
		{[]*x509.Certificate{cert}, false, 0x07},
		{[]*x509.Certificate{cert}, true, 0x05},
	} {
		cs := tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, PeerCertificates: c.certs, DidResume: c.resume}
		info, _, err := ParseProxyHeader(ProxyHeader(v4, v4, cs, pqtls.PeerIdentity(cs)))
		if err != nil {
			t.Fatal(err)
		}
		if info.SSLClient != c.want {
			t.Errorf("certs=%d resumed=%v: client flags 0x%02x, want 0x%02x", len(c.certs), c.resume, info.SSLClient, c.want)
		}
	}
}
