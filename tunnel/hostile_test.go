package tunnel

// Peers the tunnel must refuse: ACL and policy refusals, broken and slow
// clients, and regression tests for the attacks of the hardening review
// (issue 11), each replaying one attack against the tunnel.

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

func mustURIs(t *testing.T, s ...string) []*url.URL {
	t.Helper()
	var out []*url.URL
	for _, u := range s {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pu)
	}
	return out
}

// TestACLIdentifyReportsMatchedIdentity: the identity returned is the name
// that matched, several SPIFFE IDs are refused, and invalid SPIFFE IDs
// (dot segments, percent-encoding, empty segments, uppercase trust domain)
// never match a wildcard.
func TestACLIdentifyReportsMatchedIdentity(t *testing.T) {
	ns := ACL{URI: []string{"spiffe://example.org/ns/*"}}
	for _, c := range []struct {
		name string
		acl  ACL
		cert *x509.Certificate
		want string // "" = refused
	}{
		{"two SPIFFE IDs, second matches", ns, &x509.Certificate{URIs: mustURIs(t, "spiffe://example.org/admin", "spiffe://example.org/ns/web")}, ""},
		{"two SPIFFE IDs, no ACL", ACL{}, &x509.Certificate{URIs: mustURIs(t, "spiffe://example.org/admin", "spiffe://example.org/ns/web")}, ""},
		{"dot-dot segment", ns, &x509.Certificate{URIs: mustURIs(t, "spiffe://example.org/ns/..")}, ""},
		{"dot segment", ns, &x509.Certificate{URIs: mustURIs(t, "spiffe://example.org/ns/.")}, ""},
		{"percent-encoded traversal", ns, &x509.Certificate{URIs: mustURIs(t, "spiffe://example.org/ns/web%2F..%2F..%2Fadmin")}, ""},
		{"empty segment", ACL{URI: []string{"spiffe://example.org/ns/**"}}, &x509.Certificate{URIs: mustURIs(t, "spiffe://example.org/ns//web")}, ""},
		{"uppercase trust domain", ACL{URI: []string{"spiffe://example.org/**"}}, &x509.Certificate{URIs: mustURIs(t, "spiffe://Example.org/ns/web")}, ""},
		{"invalid ID matched by DNS", ACL{DNS: []string{"web.internal"}}, &x509.Certificate{DNSNames: []string{"web.internal"}, URIs: mustURIs(t, "spiffe://example.org/ns/..")}, ""},
		{"valid ID", ns, &x509.Certificate{URIs: mustURIs(t, "spiffe://example.org/ns/web")}, "spiffe://example.org/ns/web"},
		{"DNS matched, URI not", ACL{URI: []string{"spiffe://example.org/ns/*"}, DNS: []string{"web.internal"}}, &x509.Certificate{URIs: mustURIs(t, "spiffe://example.org/admin"), DNSNames: []string{"web.internal"}}, "web.internal"},
		{"second DNS name matched", ACL{DNS: []string{"*.svc"}}, &x509.Certificate{DNSNames: []string{"admin.internal", "web.svc"}}, "web.svc"},
		{"CN not matched", ACL{CN: []string{"api"}}, &x509.Certificate{DNSNames: []string{"admin.internal"}}, ""},
		{"CN matched", ACL{CN: []string{"api"}}, &x509.Certificate{DNSNames: []string{"admin.internal"}, Subject: subject("api")}, "api"},
		{"OU matched", ACL{OU: []string{"dba"}}, &x509.Certificate{DNSNames: []string{"admin.internal"}, Subject: subject("x", "dba")}, "dba"},
		{"non-SPIFFE URI dot-dot under wildcard", ACL{URI: []string{"https://example.org/ns/*"}}, &x509.Certificate{URIs: mustURIs(t, "https://example.org/ns/..")}, ""},
		{"no ACL: the SPIFFE ID", ACL{}, &x509.Certificate{URIs: mustURIs(t, "https://a.example/x", "spiffe://example.org/ns/web"), DNSNames: []string{"web"}}, "spiffe://example.org/ns/web"},
	} {
		got, err := c.acl.Identify(c.cert)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: accepted as %q, want refused", c.name, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: Identify = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// TestACLPatternSPIFFEValidation: ACL patterns that no valid SPIFFE ID can
// match are configuration errors.
func TestACLPatternSPIFFEValidation(t *testing.T) {
	for _, p := range []string{"spiffe://Example.org/ns/*", "spiffe://example.org/ns/../*", "spiffe://example.org/ns//*", "spiffe://example.org/a%2Fb/*"} {
		if err := checkPatterns(ACL{URI: []string{p}}); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}

// TestTunnelReportsMatchedIdentity: end to end, the backend (PROXY v2
// identity TLV) and the connection log see the identity the ACL approved,
// and a client certificate with two SPIFFE IDs is refused.
func TestTunnelReportsMatchedIdentity(t *testing.T) {
	p := newPKI(t)
	backend, headers := proxyBackend(t)
	l := serverListener(t, p, backend)
	l.CA = p.caPath
	l.ProxyProtocol = true
	l.Allow = ACL{URI: []string{"spiffe://example.org/ns/*"}, DNS: []string{"web.internal"}}
	tu, _, logs := startJSON(t, Config{Listeners: []ListenerConfig{l}})
	addr := tu.Listeners()[0].Addr().String()
	dial := func(o certOpts) (*tls.Conn, error) {
		o.client = true
		cert, _, _ := p.issue(t, o)
		c, err := dialTLS(addr, &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal", Certificates: []tls.Certificate{cert}})
		if err != nil {
			return nil, err
		}
		if _, err := roundTrip(c, "x"); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	// Two SPIFFE IDs, the second matching the wildcard: refused.
	if c, err := dial(certOpts{cn: "two", uris: []string{"spiffe://example.org/admin", "spiffe://example.org/ns/web"}}); err == nil {
		c.Close()
		t.Fatal("certificate with two SPIFFE IDs got through")
	}
	// A SPIFFE ID the ACL refuses plus a DNS name it allows: the backend is
	// told the DNS name, never the SPIFFE ID.
	c, err := dial(certOpts{cn: "dnsonly", uris: []string{"spiffe://example.org/admin"}, dns: []string{"web.internal"}})
	if err != nil {
		t.Fatalf("allowed by DNS: %v", err)
	}
	c.Close()
	info := <-headers
	if got := string(info.TLVs[PP2TypePeerIdentity]); got != "web.internal" {
		t.Errorf("PROXY identity TLV %q, want the matched web.internal", got)
	}
	waitFor(t, "the proxied connection's log line", func() bool { return strings.Contains(logs.String(), `"close_reason":"eof"`) })
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != ConnectionLogMessage {
			continue
		}
		switch rec["close_reason"] {
		case "eof":
			if rec["identity"] != "web.internal" {
				t.Errorf("log identity=%v, want web.internal: %s", rec["identity"], line)
			}
		case "handshake_acl_denied":
			if rec["identity"] != "" || !strings.Contains(line, "SPIFFE IDs") {
				t.Errorf("refused line reports an identity or no reason: %s", line)
			}
		}
	}
}

func subject(cn string, ous ...string) (n pkix.Name) {
	n.CommonName, n.OrganizationalUnit = cn, ous
	return n
}

// proxyBackend accepts connections that start with a PROXY v2 header, sends
// each parsed header on the channel and echoes the rest.
func proxyBackend(t *testing.T) (string, <-chan *ProxyInfo) {
	t.Helper()
	ln := listenLocal(t)
	got := make(chan *ProxyInfo, 16)
	testpeer.Serve(t, ln, 0, func(c net.Conn) {
		var buf []byte
		tmp := make([]byte, 16384)
		for {
			n, err := c.Read(tmp)
			buf = append(buf, tmp[:n]...)
			if info, hl, perr := ParseProxyHeader(buf); perr == nil {
				got <- info
				_, _ = c.Write(buf[hl:])
				_, _ = io.Copy(c, c)
				return
			}
			if err != nil {
				return
			}
		}
	})
	return ln.Addr().String(), got
}

// TestProxyHeaderLongCNKeepsSSLTLV: a client CN of 4,000 to 4,096 bytes used
// to remove the whole PP2_TYPE_SSL TLV (version, cipher, group); the bound
// is on the whole TLV and an oversized CN drops only the CN.
func TestProxyHeaderLongCNKeepsSSLTLV(t *testing.T) {
	v4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	for _, n := range []int{1, 4000, 4020, 4035, 4036, 4037, 4060, 4093, 4096, 4097, 70000} {
		cs := tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, CurveID: tls.X25519MLKEM768,
			PeerCertificates: []*x509.Certificate{{Subject: subject(strings.Repeat("c", n))}}}
		h := ProxyHeader(v4, v4, cs, strings.Repeat("i", n))
		info, hl, err := ParseProxyHeader(h)
		if err != nil || hl != len(h) {
			t.Fatalf("CN %d: parse: %v", n, err)
		}
		ssl, ok := info.TLVs[PP2TypeSSL]
		if !ok {
			t.Fatalf("CN %d bytes: PP2_TYPE_SSL removed", n)
		}
		if string(info.SSL[PP2SubtypeSSLGroup]) != "X25519MLKEM768" || string(info.SSL[PP2SubtypeSSLVersion]) != "TLSv1.3" {
			t.Errorf("CN %d bytes: group %q version %q", n, info.SSL[PP2SubtypeSSLGroup], info.SSL[PP2SubtypeSSLVersion])
		}
		if 3+len(ssl) > 4096 {
			t.Errorf("CN %d bytes: SSL TLV of %d bytes exceeds 4096", n, 3+len(ssl))
		}
		// Without the CN the SSL TLV is 3+5+10+25+17 = 60 bytes: the CN
		// fits exactly when 60+3+n <= 4096.
		if _, has := info.SSL[PP2SubtypeSSLCN]; has != (63+n <= 4096) {
			t.Errorf("CN %d bytes: CN sent = %v", n, has)
		}
		if _, has := info.TLVs[PP2TypePeerIdentity]; has != (3+n <= 4096) {
			t.Errorf("identity %d bytes: sent = %v", n, has)
		}
	}
}

// TestRefusalLogCarriesSNI: a client refused at ClientHello time (require
// policy, classical client) is logged with the SNI it sent; the sni= field
// used to be empty while the error named the SNI (issue 17).
func TestRefusalLogCarriesSNI(t *testing.T) {
	p := newPKI(t)
	l := serverListener(t, p, echoServer(t))
	l.Policy = "require"
	tu, _, logs := startJSON(t, Config{Listeners: []ListenerConfig{l}})
	cfg := &tls.Config{RootCAs: p.Pool(), ServerName: "db.internal", CurvePreferences: []tls.CurveID{tls.X25519}}
	if c, err := dialTLS(tu.Listeners()[0].Addr().String(), cfg); err == nil {
		c.Close()
		t.Fatal("classical client accepted by a require listener")
	}
	waitFor(t, "the refusal's log line", func() bool {
		return strings.Contains(logs.String(), `"close_reason":"handshake_policy_classical_peer"`)
	})
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["close_reason"] == "handshake_policy_classical_peer" && rec["sni"] != "db.internal" {
			t.Errorf("refusal logged with sni=%v, want db.internal: %s", rec["sni"], line)
		}
	}
}

// TestStartLogsEffectivePolicy: the policy in the "tunnel listening" line is
// the one enforced; with a group disabled by GODEBUG it used to list it.
func TestStartLogsEffectivePolicy(t *testing.T) {
	t.Setenv("GODEBUG", "tlssecpmlkem=0")
	p := newPKI(t)
	_, _, logs := startJSON(t, Config{Listeners: []ListenerConfig{serverListener(t, p, echoServer(t))}})
	var logged string
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "tunnel listening" {
			logged, _ = rec["policy"].(string)
		}
	}
	if logged == "" || strings.Contains(logged, "SecP256r1MLKEM768") || !strings.Contains(logged, "X25519MLKEM768") {
		t.Errorf("logged policy %q: want the effective groups, without the disabled SecP256r1MLKEM768", logged)
	}
}

// TestMetricsPortHardened: the unauthenticated /metrics port has the side
// port defaults of internal/httpserve (it used to set only
// ReadHeaderTimeout) and exports its rejected-connection counter.
func TestMetricsPortHardened(t *testing.T) {
	p := newPKI(t)
	tu, reg := startTunnel(t, Config{Metrics: "127.0.0.1:0", Listeners: []ListenerConfig{serverListener(t, p, echoServer(t))}})
	s := tu.httpSrv
	if s.ReadHeaderTimeout != 5*time.Second || s.ReadTimeout != 30*time.Second || s.WriteTimeout != 30*time.Second ||
		s.IdleTimeout != 60*time.Second || s.MaxHeaderBytes != 16<<10 {
		t.Errorf("metrics server: header %v read %v write %v idle %v max header %d", s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout, s.MaxHeaderBytes)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "pqtls_http_connections_rejected_total" {
			found = testpeer.LabelsMatch(mf.GetMetric()[0], map[string]string{"server": "tunnel"})
		}
	}
	if !found {
		t.Error(`pqtls_http_connections_rejected_total{server="tunnel"} not exported`)
	}
}

func TestACLAllowsAndDenies(t *testing.T) {
	p := newPKI(t)
	tu, reg, base := serverOnly(t, p, echoServer(t), func(l *ListenerConfig) {
		l.CA = p.caPath
		l.Allow = ACL{URI: []string{"spiffe://example.org/ns/*/sa/api"}, DNS: []string{"*.ops.example.org"}, OU: []string{"dba"}}
	})
	addr := tu.Listeners()[0].Addr().String()
	cases := []struct {
		name  string
		opts  certOpts
		allow bool
	}{
		{"spiffe wildcard", certOpts{cn: "a", uris: []string{"spiffe://example.org/ns/prod/sa/api"}}, true},
		{"spiffe other sa", certOpts{cn: "b", uris: []string{"spiffe://example.org/ns/prod/sa/web"}}, false},
		{"spiffe extra segment", certOpts{cn: "c", uris: []string{"spiffe://example.org/ns/prod/x/sa/api"}}, false},
		{"dns wildcard", certOpts{cn: "d", dns: []string{"bastion.ops.example.org"}}, true},
		{"dns two labels", certOpts{cn: "e", dns: []string{"a.b.ops.example.org"}}, false},
		{"ou", certOpts{cn: "f", ous: []string{"dba"}}, true},
		{"nothing matching", certOpts{cn: "mallory", ous: []string{"dev"}}, false},
	}
	denied := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.client = true
			cert, _, _ := p.issue(t, c.opts)
			cfg := base.Clone()
			cfg.Certificates = []tls.Certificate{cert}
			if c.allow {
				echoTLS(t, addr, cfg, "ping")
				return
			}
			denied++
			if err := dialRefusal(addr, cfg); err == nil || !strings.Contains(err.Error(), "bad certificate") {
				t.Fatalf("denied peer: %v, want a bad_certificate alert", err)
			}
		})
	}
	waitMetric(t, reg, pqtls.MetricErrorsTotal, map[string]string{"role": "server", "reason": pqtls.ReasonACLDenied}, float64(denied))
	// A client without any certificate is refused too.
	if dialRefusal(addr, base) == nil {
		t.Fatal("client without certificate got through an mTLS listener")
	}
}

func TestACLMatchers(t *testing.T) {
	uri, dns := "matchURI", "matchDNS"
	match := map[string]func(pattern, name string) bool{uri: matchURI, dns: matchDNS}
	for _, c := range []struct {
		f, p, n string
		ok      bool
	}{
		{uri, "spiffe://td/ns/a/sa/b", "spiffe://td/ns/a/sa/b", true},
		{uri, "spiffe://td/ns/*/sa/b", "spiffe://td/ns/x/sa/b", true},
		{uri, "spiffe://td/ns/*/sa/b", "spiffe://td/ns//sa/b", false},
		{uri, "spiffe://td/**", "spiffe://td/ns/x/sa/b", true},
		{uri, "spiffe://td/**", "spiffe://td", false},
		{uri, "spiffe://td/ns/**", "spiffe://other/ns/x", false},
		{uri, "spiffe://*/ns/a", "spiffe://td/ns/a", false}, // no wildcard in the trust domain
		{uri, "spiffe://td/ns/a", "spiffe://td/ns/a/b", false},
		{dns, "*.a.org", "x.a.org", true}, {dns, "*.a.org", "a.org", false}, {dns, "*.a.org", "y.x.a.org", false}, {dns, "DB.a.org", "db.A.org.", true},
	} {
		if got := match[c.f](c.p, c.n); got != c.ok {
			t.Errorf("%s(%q, %q) = %v, want %v", c.f, c.p, c.n, got, c.ok)
		}
	}
}

func TestRequirePolicyRefusesClassicalClient(t *testing.T) {
	p := newPKI(t)
	tu, reg, base := serverOnly(t, p, echoServer(t), func(l *ListenerConfig) { l.Policy = "require" })
	addr := tu.Listeners()[0].Addr().String()
	cfg := base.Clone()
	cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	if c, err := dialTLS(addr, cfg); err == nil {
		c.Close()
		t.Fatal("X25519-only client completed a handshake with a require-mode tunnel")
	} else if !strings.Contains(err.Error(), "handshake failure") {
		t.Fatalf("error %q, want a handshake_failure alert", err)
	}
	cfg.CurvePreferences = []tls.CurveID{tls.SecP256r1MLKEM768}
	c, err := dialTLS(addr, cfg)
	if err != nil {
		t.Fatalf("hybrid client refused: %v", err)
	}
	if got := c.ConnectionState().CurveID; got != tls.SecP256r1MLKEM768 {
		t.Fatalf("negotiated %v, want SecP256r1MLKEM768", got)
	}
	if s, err := roundTrip(c, "hello"); err != nil || s != "hello" {
		t.Fatalf("echo through require tunnel: %q %v", s, err)
	}
	c.Close()
	waitMetric(t, reg, pqtls.MetricErrorsTotal, map[string]string{"reason": pqtls.ReasonPolicyClassicalPeer}, 1)
}

func TestBadClients(t *testing.T) {
	p := newPKI(t)
	tu, reg, base := serverOnly(t, p, echoServer(t), func(l *ListenerConfig) {
		l.CA = p.caPath
		l.HandshakeTimeout = Duration(300 * time.Millisecond)
	})
	addr := tu.Listeners()[0].Addr().String()
	good, _, _ := p.issue(t, certOpts{cn: "good", client: true})

	t.Run("garbage", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		if strings.Contains(string(b), "HTTP") {
			t.Fatalf("garbage got an answer from the backend: %q", b)
		}
		waitMetric(t, reg, pqtls.MetricErrorsTotal, map[string]string{"reason": pqtls.ReasonNotTLS}, 1)
	})
	t.Run("tls12 only", func(t *testing.T) {
		cfg := base.Clone()
		cfg.Certificates = []tls.Certificate{good}
		cfg.MaxVersion = tls.VersionTLS12
		if c, err := dialTLS(addr, cfg); err == nil {
			c.Close()
			t.Fatal("TLS 1.2-only client accepted by a TLS 1.3-minimum tunnel")
		} else if !strings.Contains(err.Error(), "protocol version") {
			t.Fatalf("error %q, want protocol_version", err)
		}
	})
	for _, c := range []struct {
		name string
		cert func() tls.Certificate
	}{
		{"expired client cert", func() tls.Certificate {
			c, _, _ := p.issue(t, certOpts{cn: "old", client: true, notAfter: time.Now().Add(-time.Hour)})
			return c
		}},
		{"wrong CA", func() tls.Certificate {
			c, _, _ := newPKI(t).issue(t, certOpts{cn: "stranger", client: true})
			return c
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Presented whatever CAs the server names (a Go client sends
			// static Certificates only when their issuer is among them).
			cfg, cert := base.Clone(), c.cert()
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
			if dialRefusal(addr, cfg) == nil {
				t.Fatal("client got through")
			}
		})
	}
	waitFor(t, "expired_certificate and unknown_ca counted", func() bool {
		return metricValue(t, reg, pqtls.MetricErrorsTotal, map[string]string{"reason": pqtls.ReasonExpiredCertificate}) == 1 &&
			metricValue(t, reg, pqtls.MetricErrorsTotal, map[string]string{"reason": pqtls.ReasonUnknownCA}) == 1
	})
	t.Run("slow loris", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write([]byte{22, 3, 1}) // a record header, then nothing
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = io.ReadAll(c)
		if err != nil {
			t.Fatalf("tunnel did not close the slow client (read error %v after %v)", err, time.Since(start))
		}
		waitMetric(t, reg, pqtls.MetricErrorsTotal, map[string]string{"reason": pqtls.ReasonTimeout}, 1)
	})
	// The tunnel still serves good clients.
	cfg := base.Clone()
	cfg.Certificates = []tls.Certificate{good}
	echoTLS(t, addr, cfg, "still up")
}

// TestACLPatternValidation: patterns whose wildcards the matcher would take
// literally (and so never match) are configuration errors, not silent
// denials.
func TestACLPatternValidation(t *testing.T) {
	for ok, acls := range map[bool][]ACL{
		true: {{URI: []string{"spiffe://td/ns/*/sa/*"}}, {URI: []string{"spiffe://td/ns/**"}}, {DNS: []string{"*.a.org"}}},
		false: {
			{URI: []string{"spiffe://td/ns/app-*"}}, {URI: []string{"spiffe://td/**/sa/x"}}, {URI: []string{"spiffe://td/ns/a**"}},
			{URI: []string{"spiffe://*/ns/a"}}, {URI: []string{"spiffe://*.td/ns/a"}},
			{DNS: []string{"*db.a.org"}}, {DNS: []string{"db.*.org"}}, {DNS: []string{"*.*.org"}}, {DNS: []string{"*"}},
		},
	} {
		for _, acl := range acls {
			if err := checkPatterns(acl); (err == nil) != ok {
				t.Errorf("checkPatterns(%+v) = %v, want ok=%v", acl, err, ok)
			}
		}
	}
}
