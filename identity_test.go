package pqtls

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"testing"
)

func TestPeerIdentity(t *testing.T) {
	u := func(s string) *url.URL {
		p, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		leaf *x509.Certificate
		want string
	}{
		{"spiffe", &x509.Certificate{URIs: []*url.URL{u("spiffe://example.org/ns/web")}, DNSNames: []string{"web"}}, "spiffe://example.org/ns/web"},
		{"spiffe after another URI", &x509.Certificate{URIs: []*url.URL{u("https://web.example"), u("spiffe://example.org/ns/web")}}, "spiffe://example.org/ns/web"},
		// Two SPIFFE IDs: the backend must never be told either one.
		{"two spiffe IDs", &x509.Certificate{URIs: []*url.URL{u("spiffe://example.org/admin"), u("spiffe://example.org/ns/web")}, DNSNames: []string{"web.internal"}}, "web.internal"},
		{"two spiffe IDs, no DNS", &x509.Certificate{URIs: []*url.URL{u("spiffe://example.org/admin"), u("spiffe://example.org/ns/web")}, Subject: pkix.Name{CommonName: "web"}}, "web"},
		{"plain URI", &x509.Certificate{URIs: []*url.URL{u("urn:example:web")}}, "urn:example:web"},
		{"DNS", &x509.Certificate{DNSNames: []string{"a.internal", "b.internal"}}, "a.internal"},
		{"CN", &x509.Certificate{Subject: pkix.Name{CommonName: "legacy"}}, "legacy"},
	}
	for _, c := range cases {
		got := PeerIdentity(tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.leaf}})
		if got != c.want {
			t.Errorf("%s: PeerIdentity = %q, want %q", c.name, got, c.want)
		}
	}
	if got := PeerIdentity(tls.ConnectionState{}); got != "" {
		t.Errorf("no certificate: %q", got)
	}
}
