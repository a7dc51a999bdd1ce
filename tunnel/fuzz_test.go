package tunnel

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/pqtls/pqtls"
)

// FuzzParseConfig: the tunnel YAML parser and validation never panic, and
// every error is lines of "file:line: message" or "file: message" without a
// Go or YAML type name. Seeds: testdata/fuzz/FuzzParseConfig and the
// shipped example.
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile("../examples/tunnel/tunnel.yaml"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, "f.yaml")
		if err == nil {
			_, err = cfg.Validate()
		}
		if err == nil {
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "f.yaml:") && !strings.HasPrefix(line, "f.yaml ") {
				t.Fatalf("error line without its position: %q", line)
			}
			if strings.Contains(line, "!!") || strings.Contains(line, "tunnel.ListenerConfig") || strings.Contains(line, "tunnel.Config") || strings.Contains(line, "unmarshal") {
				t.Fatalf("type name in %q", line)
			}
		}
	})
}

// FuzzProxyHeaderLongFields: whatever the peer-chosen SNI, CN and identity
// (up to tens of KB), the header parses back, every top-level TLV is at
// most maxTLV bytes with its type and length, PP2_TYPE_SSL always carries
// version, cipher and group, and each value is either sent whole or left
// out (never cut), left out only when it cannot fit.
func FuzzProxyHeaderLongFields(f *testing.F) {
	f.Add("db.internal", "api", "spiffe://example.org/ns/web", uint16(tls.X25519MLKEM768), 1, 4050, 0, false)
	f.Add("", "", "", uint16(0), 0, 0, 0, true)
	f.Fuzz(func(t *testing.T, sni, cn, identity string, curve uint16, sniPad, cnPad, idPad int, resumed bool) {
		pad := func(s string, n int) string {
			n = min(max(n, 0), 70000)
			return s + strings.Repeat("x", n)
		}
		sni, cn, identity = pad(sni, sniPad), pad(cn, cnPad), pad(identity, idPad)
		cs := tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, CurveID: tls.CurveID(curve),
			ServerName: sni, DidResume: resumed}
		if cn != "" {
			c := &x509.Certificate{}
			c.Subject.CommonName = cn
			cs.PeerCertificates = []*x509.Certificate{c}
		}
		v4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
		h := ProxyHeader(v4, v4, cs, identity)
		info, n, err := ParseProxyHeader(append(bytes.Clone(h), "payload"...))
		if err != nil || n != len(h) {
			t.Fatalf("parse: n=%d of %d: %v", n, len(h), err)
		}
		for typ, v := range info.TLVs {
			if tlvHeader+len(v) > maxTLV {
				t.Fatalf("TLV 0x%02x of %d bytes", typ, tlvHeader+len(v))
			}
		}
		if string(info.SSL[PP2SubtypeSSLGroup]) != pqtls.GroupName(cs.CurveID) || string(info.SSL[PP2SubtypeSSLVersion]) != "TLSv1.3" {
			t.Fatalf("SSL TLV lost version or group: %q %q", info.SSL[PP2SubtypeSSLVersion], info.SSL[PP2SubtypeSSLGroup])
		}
		whole := func(what string, got []byte, present bool, want string, fits bool) {
			switch {
			case present && string(got) != want:
				t.Fatalf("%s cut: %d of %d bytes", what, len(got), len(want))
			case !present && want != "" && fits:
				t.Fatalf("%s of %d bytes left out although it fits", what, len(want))
			}
		}
		a, ok := info.TLVs[PP2TypeAuthority]
		whole("SNI", a, ok, sni, tlvHeader+len(sni) <= maxTLV)
		i, ok := info.TLVs[PP2TypePeerIdentity]
		whole("identity", i, ok, identity, tlvHeader+len(identity) <= maxTLV)
		sslLen := len(info.TLVs[PP2TypeSSL])
		c, ok := info.SSL[PP2SubtypeSSLCN]
		if ok {
			sslLen -= tlvHeader + len(c)
		}
		whole("CN", c, ok, cn, tlvHeader+sslLen+tlvHeader+len(cn) <= maxTLV)
	})
}
