package exporter

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/testpeer"
)

// Hostile-input regressions of the exporter (issue 11, "Exporter SSRF and
// amplification"): who may be probed, how many probes run at once, what
// debug output reveals, where client certificates go.

// fakeResolver answers from a table and counts lookups per name. A name
// with several answers returns the next one on each lookup (a rebinding
// DNS server).
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	lookups map[string]int
}

func newResolver(answers map[string][][]netip.Addr) *fakeResolver {
	return &fakeResolver{answers: answers, lookups: map[string]int{}}
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	i := min(r.lookups[host], len(seq)-1)
	r.lookups[host]++
	return append([]netip.Addr(nil), seq[i]...), nil
}

func (r *fakeResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookups[host]
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

// countingListener listens on addr and counts the connections it accepts
// (closing them at once).
func countingListener(t *testing.T, addr string) *atomic.Int64 {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	var n atomic.Int64
	testpeer.Serve(t, ln, 5*time.Second, func(c net.Conn) { n.Add(1) })
	return &n
}

// TestAllowedTargetsConfig: the defaults without allowed_targets (the
// invalid entries are cases of TestParseConfigErrors).
func TestAllowedTargetsConfig(t *testing.T) {
	cfg := mustConfig(t, "modules:\n  a: {}\n")
	if cfg.MaxConcurrentProbes != 256 {
		t.Errorf("default max_concurrent_probes %d, want 256", cfg.MaxConcurrentProbes)
	}
	if ok, open := cfg.Restricted(); ok || len(open) != 1 || open[0] != "a" {
		t.Errorf("Restricted() = %v %v for a config without allowed_targets", ok, open)
	}
}

// TestAllowedTargetsEnforced: refused targets get HTTP 403 and a counter,
// and are never connected to; a name is checked on every address it
// resolves to; a module narrows the top-level list.
func TestAllowedTargetsEnforced(t *testing.T) {
	p := newPKI(t)
	srv := tlsServer(t, p, nil)
	_, port, _ := net.SplitHostPort(srv)
	other := countingListener(t, "127.0.0.2:"+port)
	res := newResolver(map[string][][]netip.Addr{
		"ok.probe.test":    {addrs("127.0.0.1")},
		"mixed.probe.test": {addrs("127.0.0.1", "127.0.0.2")},
		"other.probe.test": {addrs("127.0.0.2")},
	})
	yml := "allowed_targets: [127.0.0.1/32, '*.probe.test']\nmodules:\n  default:\n    ca_file: " + p.caFile +
		"\n    server_name: localhost\n  narrow:\n    ca_file: " + p.caFile + "\n    server_name: localhost\n    allowed_targets: ['ok.*']\n"
	reg := prometheus.NewRegistry()
	e, err := New(Options{Config: mustConfig(t, yml), Registerer: reg, Resolver: res, Enumerator: scanEnumerate})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target, module string
		code           int
		want           string
	}{
		{srv, "default", 200, "probe_success 1"},
		{"ok.probe.test:" + port, "default", 200, "probe_success 1"},
		{"ok.probe.test:" + port, "narrow", 200, "probe_success 1"},
		{"127.0.0.2:" + port, "default", 403, "target 127.0.0.2 is not allowed by allowed_targets"},
		{"mixed.probe.test:" + port, "default", 403, "target mixed.probe.test resolves to an address allowed_targets does not allow"},
		{"other.probe.test:" + port, "default", 403, "target other.probe.test resolves to an address allowed_targets does not allow"},
		{"evil.example:" + port, "default", 403, "target evil.example is not allowed"},
		{srv, "narrow", 403, `module "narrow" allowed_targets`},
		{"[::ffff:127.0.0.2]:" + port, "default", 403, "not allowed"},
	} {
		rec := get(e, url.Values{"target": {tc.target}, "module": {tc.module}})
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) || strings.Contains(tc.target, "probe.test") && strings.Contains(rec.Body.String(), "127.0.0.") {
			t.Errorf("%s module %s: HTTP %d %q, want %d with %q", tc.target, tc.module, rec.Code, rec.Body.String(), tc.code, tc.want)
		}
	}
	if n := other.Load(); n != 0 {
		t.Errorf("%d connections reached the refused address 127.0.0.2", n)
	}
	if n := res.count("evil.example"); n != 0 {
		t.Errorf("a name no glob allows was resolved %d times", n)
	}
	s := gather(t, reg)
	s.want(t, 6, "pqtls_exporter_probes_refused_total", "reason", "target_not_allowed")
	s.want(t, 0, "pqtls_exporter_probes_refused_total", "reason", "max_concurrent_probes")
}

// TestAllowedTargetsNoRebinding: a name is resolved once per probe and every
// connection of the probe (the handshake and the 10+ enumeration
// connections) goes to the address checked, although the resolver answers a
// refused address from the second lookup on.
func TestAllowedTargetsNoRebinding(t *testing.T) {
	p := newPKI(t)
	srv := tlsServer(t, p, nil)
	_, port, _ := net.SplitHostPort(srv)
	rebound := countingListener(t, "127.0.0.3:"+port)
	res := newResolver(map[string][][]netip.Addr{"rebind.probe.test": {addrs("127.0.0.1"), addrs("127.0.0.3")}})
	yml := "allowed_targets: [127.0.0.1/32, '*.probe.test']\nmodules:\n  enum:\n    ca_file: " + p.caFile +
		"\n    server_name: localhost\n    enumerate: true\n    enumerate_groups: [X25519MLKEM768, x25519, secp256r1, secp384r1]\n"
	e, err := New(Options{Config: mustConfig(t, yml), Resolver: res, Enumerator: scanEnumerate})
	if err != nil {
		t.Fatal(err)
	}
	rec := get(e, url.Values{"target": {"rebind.probe.test:" + port}, "module": {"enum"}, "debug": {"true"}})
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "probe_success 1") || !strings.Contains(body, `probe_tls_group_supported{group="x25519",kind="classical"} 1`) {
		t.Fatalf("HTTP %d\n%s", rec.Code, body)
	}
	if n := res.count("rebind.probe.test"); n != 1 {
		t.Errorf("the name was resolved %d times in one probe, want once", n)
	}
	if n := rebound.Load(); n != 0 {
		t.Errorf("%d connections went to the rebound address", n)
	}
	// The next probe resolves again and is refused (403), still without a
	// connection there.
	if rec := get(e, url.Values{"target": {"rebind.probe.test:" + port}, "module": {"enum"}}); rec.Code != 403 {
		t.Errorf("rebound name: HTTP %d, want 403", rec.Code)
	}
	if n := rebound.Load(); n != 0 {
		t.Errorf("%d connections went to the rebound address", n)
	}
}

// TestClientCertOnlyToAllowedTargets: a module with a client certificate
// needs an allow-list, and the certificate reaches only listed targets.
func TestClientCertOnlyToAllowedTargets(t *testing.T) {
	p := newPKI(t)
	client, err := p.ca.Issue(devpkiClient())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{"c.pem": client.CertPEM, "k.pem": client.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mod := "  mtls:\n    ca_file: " + p.caFile + "\n    cert_file: c.pem\n    key_file: k.pem\n    server_name: localhost\n"
	if _, err := ParseConfig([]byte("modules:\n"+mod), filepath.Join(dir, "x.yaml")); err == nil || !strings.Contains(err.Error(), "x.yaml:4: module \"mtls\": a client certificate needs allowed_targets") {
		t.Fatalf("cert_file without allowed_targets: %v", err)
	}
	// Two servers on the same port, at 127.0.0.1 (listed) and 127.0.0.4
	// (not listed), both asking for a client certificate.
	var presented [2]atomic.Int64
	ln1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln1.Addr().String())
	ln2, err := net.Listen("tcp", "127.0.0.4:"+port)
	if err != nil {
		ln1.Close()
		t.Skipf("listen 127.0.0.4: %v", err)
	}
	for i, ln := range []net.Listener{ln1, ln2} {
		cfg := &tls.Config{Certificates: []tls.Certificate{p.server.TLS()}, ClientAuth: tls.RequestClientCert}
		testpeer.Serve(t, tls.NewListener(ln, cfg), 5*time.Second, func(c net.Conn) {
			tc := c.(*tls.Conn)
			if tc.Handshake() == nil && len(tc.ConnectionState().PeerCertificates) > 0 {
				presented[i].Add(1)
			}
			_, _ = io.Copy(io.Discard, c)
		})
	}
	cfg, err := ParseConfig([]byte("modules:\n"+mod+"    allowed_targets: [127.0.0.1/32]\n"), filepath.Join(dir, "x.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e := newExporter(t, cfg, nil)
	if rec := get(e, url.Values{"target": {"127.0.0.1:" + port}, "module": {"mtls"}}); rec.Code != 200 || !strings.Contains(rec.Body.String(), "probe_success 1") {
		t.Fatalf("listed target: HTTP %d %s", rec.Code, rec.Body.String())
	}
	if rec := get(e, url.Values{"target": {"127.0.0.4:" + port}, "module": {"mtls"}}); rec.Code != 403 {
		t.Errorf("unlisted target: HTTP %d, want 403", rec.Code)
	}
	// The server sees the certificate after the client's handshake ends.
	for i := 0; i < 200 && presented[0].Load() == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if presented[0].Load() != 1 || presented[1].Load() != 0 {
		t.Errorf("client certificate presented %d times to the listed target, %d to the unlisted one; want 1 and 0", presented[0].Load(), presented[1].Load())
	}
}

// TestMaxConcurrentProbes: above max_concurrent_probes, /probe answers 503
// at once and counts it; the running probes finish normally.
func TestMaxConcurrentProbes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var accepted atomic.Int64
	testpeer.Serve(t, ln, 5*time.Second, func(c net.Conn) {
		accepted.Add(1)
		<-release // hold the handshake until the test lets go
	})
	reg := prometheus.NewRegistry()
	e := newExporter(t, mustConfig(t, "max_concurrent_probes: 2\nmodules:\n  default:\n    timeout: 30s\n"), reg)
	q := url.Values{"target": {ln.Addr().String()}}
	codes := make(chan int, 2)
	for range 2 {
		go func() { codes <- get(e, q).Code }()
	}
	for accepted.Load() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	rec := get(e, q)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "max_concurrent_probes") {
		t.Errorf("third probe: HTTP %d %q, want 503", rec.Code, rec.Body.String())
	}
	s := gather(t, reg)
	s.want(t, 1, "pqtls_exporter_probes_refused_total", "reason", "max_concurrent_probes")
	s.want(t, 2, "pqtls_exporter_probes_in_flight")
	if n := accepted.Load(); n != 2 {
		t.Errorf("%d connections: the refused probe connected", n)
	}
	close(release)
	for range 2 {
		if c := <-codes; c != 200 {
			t.Errorf("held probe: HTTP %d", c)
		}
	}
	gather(t, reg).want(t, 0, "pqtls_exporter_probes_in_flight")
	if rec := get(e, url.Values{"target": {closedPort(t)}}); rec.Code != 200 {
		t.Errorf("after the held probes ended: HTTP %d", rec.Code)
	}
}

// TestDebugRedactsBanners: debug=true shows the probe's log to whoever asks:
// what a server says in its STARTTLS preamble must not appear in it.
func TestDebugRedactsBanners(t *testing.T) {
	const secret = "SECRET-banner-db7.corp"
	for _, tc := range []struct {
		proto, greeting, want string
	}{
		{"smtp", "554 " + secret + " go away\r\n", "smtp preamble: unexpected answer (server text redacted)"},
		{"pop3", "+OK " + secret + "\r\n", "pop3: server does not offer TLS (server text redacted)"},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			testpeer.Serve(t, ln, 5*time.Second, func(c net.Conn) {
				_, _ = io.WriteString(c, tc.greeting)
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					_, _ = io.WriteString(c, "-ERR "+secret+" no STLS here\r\n")
				}
			})
			yml := fmt.Sprintf("modules:\n  m:\n    timeout: 5s\n    starttls: %s\n    enumerate: true\n    enumerate_groups: [x25519]\n", tc.proto)
			e := newExporter(t, mustConfig(t, yml), nil)
			rec := get(e, url.Values{"target": {ln.Addr().String()}, "module": {"m"}, "debug": {"true"}})
			body := rec.Body.String()
			if rec.Code != 200 || !strings.Contains(body, tc.want) || !strings.Contains(body, `phase="starttls"`) {
				t.Errorf("HTTP %d, want the redacted error %q:\n%s", rec.Code, tc.want, body)
			}
			if strings.Contains(body, "SECRET") {
				t.Errorf("debug output shows the server's banner:\n%s", body)
			}
		})
	}
}

// TestDebugLogTargetOnce: every line of the debug log names the target at
// most once (issue 17).
func TestDebugLogTargetOnce(t *testing.T) {
	p := newPKI(t)
	srv := tlsServer(t, p, nil)
	e := newExporter(t, mustConfig(t, "modules:\n  e:\n    ca_file: "+p.caFile+"\n    enumerate: true\n    enumerate_groups: [x25519, secp256r1]\n"), nil)
	for _, target := range []string{srv, closedPort(t), "https://x"} {
		body := get(e, url.Values{"target": {target}, "module": {"e"}, "debug": {"1"}}).Body.String()
		logs, _, _ := strings.Cut(body, "Metrics that would have been returned")
		if !strings.Contains(logs, "target=") {
			t.Errorf("%s: the debug log never names the target:\n%s", target, logs)
		}
		for _, line := range strings.Split(logs, "\n") {
			if strings.Count(line, "target=") > 1 {
				t.Errorf("%s: target repeated: %s", target, line)
			}
		}
	}
}

func TestExposureWarning(t *testing.T) {
	open := mustConfig(t, "modules:\n  a: {}\n  b:\n    allowed_targets: [10.0.0.0/8]\n")
	closed := mustConfig(t, "allowed_targets: [10.0.0.0/8]\nmodules:\n  a: {}\n")
	all := &net.TCPAddr{IP: net.IPv6unspecified, Port: 9650}
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9650}
	if w := ExposureWarning(open, all); !strings.Contains(w, "module(s) a ") || strings.Contains(w, "a, b") {
		t.Errorf("open config on all interfaces: %q", w)
	}
	for _, tc := range []struct {
		cfg  *Config
		addr net.Addr
	}{{open, lo}, {closed, all}, {closed, lo}} {
		if w := ExposureWarning(tc.cfg, tc.addr); w != "" {
			t.Errorf("%v on %v: unexpected warning %q", tc.cfg.AllowedTargets, tc.addr, w)
		}
	}
}

func devpkiClient() devpki.Request {
	return devpki.Request{CommonName: "exporter probe", Client: true}
}

// TestEnumeratorRequired: the exporter package does not import scan; a
// configuration that enumerates needs the Enumerator the command wires, at
// start and at reload.
func TestEnumeratorRequired(t *testing.T) {
	enum := mustConfig(t, "modules:\n  e:\n    enumerate: true\n")
	if _, err := New(Options{Config: enum}); err == nil || !strings.Contains(err.Error(), `module "e" enumerates but Options.Enumerator is nil`) {
		t.Errorf("New without Enumerator: %v", err)
	}
	file := filepath.Join(t.TempDir(), "x.yaml")
	if err := os.WriteFile(file, []byte("modules:\n  e:\n    enumerate: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Config: mustConfig(t, "modules:\n  a: {}\n"), ConfigFile: file})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(); err == nil || !strings.Contains(err.Error(), "Enumerator") {
		t.Errorf("reload to an enumerating config without Enumerator: %v", err)
	}
}
