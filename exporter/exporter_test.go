package exporter

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/starttls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

// pki is a CA and a server certificate for 127.0.0.1/localhost, with the CA
// written to caFile.
type pki struct {
	ca     *devpki.CA
	server *devpki.Cert
	caFile string
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	ca, err := devpki.NewCA("exporter test CA", devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue(devpki.Request{CommonName: "localhost", Hosts: []string{"localhost", "127.0.0.1"}, Server: true,
		NotAfter: time.Now().Add(72 * time.Hour).Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return &pki{ca: ca, server: srv, caFile: caFile}
}

// tlsServer serves TLS handshakes with the given groups (nil: Go defaults)
// until the test ends, and returns its address.
func tlsServer(t testing.TB, p *pki, groups []tls.CurveID) string {
	t.Helper()
	return tlsServerMax(t, p, groups, tls.VersionTLS13)
}

// tlsServerMax is tlsServer with a maximum TLS version.
func tlsServerMax(t testing.TB, p *pki, groups []tls.CurveID, maxVersion uint16) string {
	t.Helper()
	return serveTLS(t, p.server.TLS(), groups, maxVersion)
}

// serveTLS serves TLS handshakes with cert (groups nil: Go's defaults), TLS
// 1.2 up to maxVersion, until the test ends, and returns its address.
func serveTLS(t testing.TB, cert tls.Certificate, groups []tls.CurveID, maxVersion uint16) string {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, CurvePreferences: groups, MinVersion: tls.VersionTLS12, MaxVersion: maxVersion}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 5*time.Second, func(c net.Conn) {
		_ = c.(*tls.Conn).Handshake()
		_, _ = io.Copy(io.Discard, c)
	})
	return ln.Addr().String()
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func mustConfig(t testing.TB, yml string) *Config {
	t.Helper()
	cfg, err := ParseConfig([]byte(yml), "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type scrape map[string]*dto.MetricFamily

// probeHTTP runs /probe through the handler and parses the metrics.
func probeHTTP(t *testing.T, e *Exporter, target, module string, header map[string]string) scrape {
	t.Helper()
	q := url.Values{"target": {target}, "module": {module}}
	req := httptest.NewRequest(http.MethodGet, "/probe?"+q.Encode(), nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.Handler(nil).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("/probe %s %s: HTTP %d: %s", target, module, rec.Code, rec.Body.String())
	}
	return parseExposition(t, rec.Body.String())
}

// parseExposition parses Prometheus text exposition.
func parseExposition(t *testing.T, text string) scrape {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse exposition: %v\n%s", err, text)
	}
	return mfs
}

// value returns the value of the sample of name whose labels include lbls;
// ok false if there is none.
func (s scrape) value(name string, lbls ...string) (float64, bool) {
	mf, ok := s[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(lbls); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == lbls[i] && lp.GetValue() == lbls[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		if m.Gauge != nil {
			return m.GetGauge().GetValue(), true
		}
		return m.GetCounter().GetValue(), true
	}
	return 0, false
}

func (s scrape) want(t *testing.T, want float64, name string, lbls ...string) {
	t.Helper()
	got, ok := s.value(name, lbls...)
	if !ok {
		t.Errorf("%s%v: missing", name, lbls)
		return
	}
	if got != want {
		t.Errorf("%s%v = %v, want %v", name, lbls, got, want)
	}
}

func newExporter(t testing.TB, cfg *Config, reg prometheus.Registerer) *Exporter {
	t.Helper()
	e, err := New(Options{Config: cfg, Registerer: reg, Version: "test", Enumerator: scanEnumerate})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return ln.Addr().String()
}

// get runs one /probe request through e's handler.
func get(e *Exporter, q url.Values) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.Handler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/probe?"+q.Encode(), nil))
	return rec
}

// gather collects reg by metric name.
func gather(t *testing.T, reg prometheus.Gatherer) scrape {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	s := scrape{}
	for _, mf := range mfs {
		s[mf.GetName()] = mf
	}
	return s
}

// gauges flattens the probe_tls_c* and probe_tls_ml_dsa* gauges of a
// registry into "name{k=v,...}" -> value, labels sorted, "name" alone for
// a gauge without labels.
func gauges(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, mf := range gather(t, reg) {
		if !strings.HasPrefix(name, "probe_tls_c") && !strings.HasPrefix(name, "probe_tls_ml_dsa") {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetGauge() == nil {
				continue
			}
			var kv []string
			for _, lp := range m.GetLabel() {
				kv = append(kv, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(kv)
			key := name
			if len(kv) > 0 {
				key += "{" + strings.Join(kv, ",") + "}"
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestProbeDefaultClient(t *testing.T) {
	p := newPKI(t)
	hybrid := tlsServer(t, p, nil)
	classical := tlsServer(t, p, []tls.CurveID{tls.X25519, tls.CurveP256})
	hrr := tlsServer(t, p, []tls.CurveID{tls.CurveP384})
	closed := closedPort(t)
	cfg := mustConfig(t, "modules:\n  default:\n    ca_file: "+p.caFile+"\n  noca:\n    timeout: 3s\n")
	e := newExporter(t, cfg, nil)

	t.Run("hybrid", func(t *testing.T) {
		s := probeHTTP(t, e, hybrid, "default", nil)
		s.want(t, 1, "probe_success")
		s.want(t, 1, "probe_tls_group_info", "group", "x25519_mlkem768", "kind", "hybrid")
		s.want(t, 1, "probe_tls_version_info", "version", "TLS 1.3")
		s.want(t, 1, "probe_tls_pq_ready")
		s.want(t, 0, "probe_tls_hello_retry")
		s.want(t, float64(p.server.Leaf.NotAfter.Unix()), "probe_ssl_earliest_cert_expiry")
		if b, _ := s.value("probe_tls_client_hello_bytes"); b < 1200 || b > 4000 {
			t.Errorf("probe_tls_client_hello_bytes = %v, want a hybrid-sized ClientHello (1.2-4 KB)", b)
		}
		if _, ok := s["probe_tls_group_supported"]; ok {
			t.Error("probe_tls_group_supported present without enumeration")
		}
		if _, ok := s["probe_tls_failure_info"]; ok {
			t.Error("probe_tls_failure_info present on success")
		}
	})
	t.Run("classical", func(t *testing.T) {
		s := probeHTTP(t, e, classical, "default", nil)
		s.want(t, 1, "probe_success")
		s.want(t, 1, "probe_tls_group_info", "group", "x25519", "kind", "classical")
		s.want(t, 0, "probe_tls_pq_ready")
		if _, ok := s.value("probe_tls_group_info", "group", "x25519_mlkem768"); ok {
			t.Error("fresh registry per request: the hybrid probe's group leaked into this one")
		}
	})
	t.Run("hello_retry", func(t *testing.T) {
		s := probeHTTP(t, e, hrr, "default", nil)
		s.want(t, 1, "probe_success")
		s.want(t, 1, "probe_tls_hello_retry")
		s.want(t, 1, "probe_tls_group_info", "group", "secp384r1", "kind", "classical")
	})
	t.Run("closed_port", func(t *testing.T) {
		s := probeHTTP(t, e, closed, "default", nil)
		s.want(t, 0, "probe_success")
		s.want(t, 0, "probe_tls_pq_ready")
		s.want(t, 1, "probe_tls_failure_info", "phase", "connect", "reason", "connection_refused")
		for _, name := range []string{"probe_tls_group_info", "probe_tls_hello_retry", "probe_tls_client_hello_bytes", "probe_ssl_earliest_cert_expiry"} {
			if _, ok := s[name]; ok {
				t.Errorf("%s present without a handshake", name)
			}
		}
	})
	t.Run("unknown_ca_still_reports_group", func(t *testing.T) {
		s := probeHTTP(t, e, hybrid, "noca", nil)
		s.want(t, 0, "probe_success")
		s.want(t, 1, "probe_tls_failure_info", "phase", "handshake", "reason", "unknown_ca")
		s.want(t, 1, "probe_tls_group_info", "group", "x25519_mlkem768", "kind", "hybrid")
		s.want(t, float64(p.server.Leaf.NotAfter.Unix()), "probe_ssl_earliest_cert_expiry")
	})
}

func TestProbeRequirePolicy(t *testing.T) {
	p := newPKI(t)
	hybrid := tlsServer(t, p, nil)
	classical := tlsServer(t, p, []tls.CurveID{tls.X25519})
	cfg := mustConfig(t, "modules:\n  req:\n    policy: require\n    ca_file: "+p.caFile+"\n  cls:\n    policy: classical\n    ca_file: "+p.caFile+"\n")
	e := newExporter(t, cfg, nil)
	s := probeHTTP(t, e, hybrid, "req", nil)
	s.want(t, 1, "probe_success")
	s.want(t, 1, "probe_tls_pq_ready")
	s = probeHTTP(t, e, classical, "req", nil)
	s.want(t, 0, "probe_success")
	s.want(t, 1, "probe_tls_failure_info", "phase", "handshake", "reason", "policy_classical_peer")
	// A classical-policy client on a hybrid server: classical group.
	s = probeHTTP(t, e, hybrid, "cls", nil)
	s.want(t, 1, "probe_success")
	s.want(t, 0, "probe_tls_pq_ready")
	s.want(t, 1, "probe_tls_group_info", "group", "x25519", "kind", "classical")
	// A classical client sends a small ClientHello: the metric tells.
	if b, _ := s.value("probe_tls_client_hello_bytes"); b <= 0 || b > 1000 {
		t.Errorf("classical probe_tls_client_hello_bytes = %v, want under 1000", b)
	}
}

func TestProbeEnumeration(t *testing.T) {
	p := newPKI(t)
	srv := tlsServer(t, p, []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP384})
	classical := tlsServer(t, p, []tls.CurveID{tls.CurveP256})
	cfg := mustConfig(t, "modules:\n  enum:\n    ca_file: "+p.caFile+"\n    enumerate: true\n")
	e := newExporter(t, cfg, nil)
	s := probeHTTP(t, e, srv, "enum", nil)
	s.want(t, 1, "probe_success")
	for label, want := range map[string]float64{"x25519_mlkem768": 1, "x25519": 1, "secp384r1": 1, "secp256r1": 0, "secp256r1_mlkem768": 0, "mlkem768": 0, "x448": 0} {
		s.want(t, want, "probe_tls_group_supported", "group", label)
	}
	s.want(t, 1, "probe_tls_group_supported", "group", "x25519_mlkem768", "kind", "hybrid")
	s.want(t, 1, "probe_tls_large_client_hello_ok")

	s = probeHTTP(t, e, classical, "enum", nil)
	s.want(t, 1, "probe_tls_group_supported", "group", "secp256r1")
	s.want(t, 0, "probe_tls_group_supported", "group", "x25519_mlkem768")
	s.want(t, 0, "probe_tls_pq_ready")
	// The large hello is answered (with an HRR to P-256): the path carries it.
	s.want(t, 1, "probe_tls_large_client_hello_ok")

	// A TLS 1.2-only server: its ECDHE curves count as supported groups.
	tls12 := tlsServerMax(t, p, []tls.CurveID{tls.CurveP256, tls.X25519}, tls.VersionTLS12)
	s = probeHTTP(t, e, tls12, "enum", nil)
	s.want(t, 1, "probe_success")
	s.want(t, 1, "probe_tls_version_info", "version", "TLS 1.2")
	s.want(t, 1, "probe_tls_group_supported", "group", "secp256r1")
	s.want(t, 1, "probe_tls_group_supported", "group", "x25519")
	s.want(t, 0, "probe_tls_group_supported", "group", "secp384r1")
	s.want(t, 0, "probe_tls_group_supported", "group", "x25519_mlkem768")
	s.want(t, 0, "probe_tls_pq_ready")
}

func TestProbeScrapeTimeoutHeader(t *testing.T) {
	addr := silentServer(t)
	cfg := mustConfig(t, "modules:\n  slow:\n    timeout: 60s\n")
	e := newExporter(t, cfg, nil)
	s := probeHTTP(t, e, addr, "slow", map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "1.5"})
	s.want(t, 0, "probe_success")
	s.want(t, 1, "probe_tls_failure_info", "phase", "handshake", "reason", "timeout")
	// Bounded by the header (1.5 s - margin), not by the module's 60 s.
	if d, _ := s.value("probe_duration_seconds"); d <= 0 || d >= 60 {
		t.Errorf("probe_duration_seconds = %v: the scrape timeout header did not bound the probe", d)
	}
}

func TestSplitTarget(t *testing.T) {
	pg := &Module{StartTLS: "postgres", proto: starttls.Postgres}
	for _, tc := range []struct {
		target string
		m      *Module
		host   string
		addr   string
		bad    bool
	}{
		{"db.example:5432", &Module{}, "db.example", "db.example:5432", false},
		{"api.example", &Module{}, "api.example", "api.example:443", false},
		{"db.example", pg, "db.example", "db.example:5432", false},
		{"[::1]:8443", &Module{}, "::1", "[::1]:8443", false},
		{"::1", &Module{}, "::1", "[::1]:443", false},
		{"https://api.example", &Module{}, "", "", true},
		{"api.example:443/path", &Module{}, "", "", true},
		{"api.example:99999", &Module{}, "", "", true},
		{":443", &Module{}, "", "", true},
		{"", &Module{}, "", "", true},
	} {
		host, addr, err := splitTarget(tc.target, tc.m)
		if (err != nil) != tc.bad || host != tc.host || addr != tc.addr {
			t.Errorf("splitTarget(%q) = %q, %q, %v", tc.target, host, addr, err)
		}
	}
	e := newExporter(t, mustConfig(t, "modules:\n  default: {}\n"), nil)
	s := probeHTTP(t, e, "https://api.example", "default", nil)
	s.want(t, 0, "probe_success")
	s.want(t, 1, "probe_tls_failure_info", "phase", "target", "reason", "invalid")
}

func TestProbeTimeout(t *testing.T) {
	for _, tc := range []struct {
		header string
		module time.Duration
		want   time.Duration
		err    bool
	}{
		{"", 10 * time.Second, 10 * time.Second, false},
		{"5", 10 * time.Second, 4500 * time.Millisecond, false},
		{"20", 10 * time.Second, 10 * time.Second, false},
		{"0.4", 10 * time.Second, 400 * time.Millisecond, false},
		{"abc", 10 * time.Second, 0, true},
		{"-1", 10 * time.Second, 0, true},
	} {
		req := httptest.NewRequest(http.MethodGet, "/probe", nil)
		if tc.header != "" {
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", tc.header)
		}
		got, err := probeTimeout(req, tc.module)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("header %q module %v: got %v, %v; want %v, err %v", tc.header, tc.module, got, err, tc.want, tc.err)
		}
	}
}

func TestProbeDebugAndBadRequests(t *testing.T) {
	p := newPKI(t)
	srv := tlsServer(t, p, nil)
	cfg := mustConfig(t, "modules:\n  default:\n    ca_file: "+p.caFile+"\n")
	e := newExporter(t, cfg, nil)
	h := e.Handler(nil)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/probe?debug=true&target="+srv, nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "Logs for the probe") || !strings.Contains(body, "group=X25519MLKEM768") ||
		!strings.Contains(body, "probe_tls_group_info{group=\"x25519_mlkem768\",kind=\"hybrid\"} 1") {
		t.Errorf("debug output: HTTP %d\n%s", rec.Code, body)
	}
	for _, tc := range []struct{ query, want string }{
		{"/probe", "target parameter is missing"},
		{"/probe?target=" + srv + "&module=nope", `unknown module "nope": use one of default`},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.query, nil))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: HTTP %d %q, want 400 with %q", tc.query, rec.Code, rec.Body.String(), tc.want)
		}
	}
}

func TestReloadKeepsOldConfigOnError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "exporter.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("modules:\n  a:\n    timeout: 2s\n")
	cfg, err := LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	e, err := New(Options{Config: cfg, ConfigFile: file, Registerer: reg, Version: "test", Enumerator: scanEnumerate})
	if err != nil {
		t.Fatal(err)
	}
	write("modules:\n  a:\n    timeout: 2s\n    policy: sometimes\n")
	if err := e.Reload(); err == nil || !strings.Contains(err.Error(), "exporter.yaml:4") {
		t.Fatalf("reload of a bad config: err %v, want one naming line 4", err)
	}
	if e.Config() != cfg {
		t.Error("bad reload replaced the configuration")
	}
	s := gather(t, reg)
	s.want(t, 0, "pqtls_exporter_config_last_reload_successful")
	s.want(t, 1, "pqtls_exporter_config_reloads_total", "result", "failure")
	s.want(t, 1, "pqtls_exporter_build_info", "version", "test")

	write("modules:\n  a:\n    timeout: 2s\n  b:\n    enumerate: true\n")
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Config().Modules["b"]; !ok {
		t.Error("good reload did not load module b")
	}
	s = gather(t, reg)
	s.want(t, 1, "pqtls_exporter_config_last_reload_successful")
	s.want(t, 1, "pqtls_exporter_config_reloads_total", "result", "success")
	if ts, _ := s.value("pqtls_exporter_config_last_reload_success_timestamp_seconds"); ts < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("reload timestamp %v", ts)
	}
}

func TestProbesCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := mustConfig(t, "modules:\n  default:\n    timeout: 2s\n")
	e := newExporter(t, cfg, reg)
	probeHTTP(t, e, closedPort(t), "default", nil)
	probeHTTP(t, e, closedPort(t), "default", nil)
	s := gather(t, reg)
	s.want(t, 2, "pqtls_exporter_probes_total", "module", "default", "result", "failure")
	s.want(t, 0, "pqtls_exporter_probes_total", "module", "default", "result", "success")
}

// TestFailedProbeHasNoEnumerationGauges: a probe whose enumeration did not
// reach the server (refused connection, failed STARTTLS) exports no
// enumeration gauges: a 0 would read as "group refused" or "large hellos
// dropped" (issue 17). A probe that failed after the server answered (unknown
// CA) keeps them: they say what the server accepts.
func TestFailedProbeHasNoEnumerationGauges(t *testing.T) {
	p := newPKI(t)
	srv := tlsServer(t, p, nil)
	smtp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, smtp, 5*time.Second, func(c net.Conn) { _, _ = io.WriteString(c, "554 no service\r\n") })
	e := newExporter(t, mustConfig(t, "modules:\n  enum:\n    timeout: 5s\n    enumerate: true\n    enumerate_groups: [X25519MLKEM768, x25519]\n"+
		"  smtp:\n    timeout: 5s\n    starttls: smtp\n    enumerate: true\n    enumerate_groups: [x25519]\n"), nil)
	enumGauges := []string{"probe_tls_group_supported", "probe_tls_large_client_hello_ok", "probe_tls_enumeration_duration_seconds"}
	for _, tc := range []struct{ target, module string }{{closedPort(t), "enum"}, {smtp.Addr().String(), "smtp"}} {
		s := probeHTTP(t, e, tc.target, tc.module, nil)
		s.want(t, 0, "probe_success")
		for _, name := range enumGauges {
			if _, ok := s[name]; ok {
				t.Errorf("%s %s: %s present although the enumeration never reached a TLS server", tc.module, tc.target, name)
			}
		}
	}
	s := probeHTTP(t, e, srv, "enum", nil) // unknown CA: the handshake happened
	s.want(t, 0, "probe_success")
	s.want(t, 1, "probe_tls_failure_info", "phase", "handshake", "reason", "unknown_ca")
	s.want(t, 1, "probe_tls_group_supported", "group", "x25519_mlkem768")
	s.want(t, 1, "probe_tls_large_client_hello_ok")
}

// BenchmarkServeProbe measures one /probe (HTTP handler, fresh registry,
// TLS handshake, metric encoding) against an in-process Go TLS server, per
// module kind. For where the CPU goes beyond the handshake:
//
//	go test -run '^$' -bench ServeProbe/hybrid -benchtime 2000x -cpuprofile cpu.out ./exporter
//	go tool pprof -top -focus 'ServeProbe$' cpu.out
func BenchmarkServeProbe(b *testing.B) {
	p := newPKI(b)
	srv := tlsServer(b, p, nil)
	e := newExporter(b, mustConfig(b, "allowed_targets: [127.0.0.1/32]\nmodules:\n  classical:\n    policy: classical\n    ca_file: "+p.caFile+
		"\n  hybrid:\n    ca_file: "+p.caFile+"\n  enumerate:\n    ca_file: "+p.caFile+"\n    enumerate: true\n"), nil)
	h := e.Handler(nil)
	for _, module := range []string{"classical", "hybrid", "enumerate"} {
		b.Run(module, func(b *testing.B) {
			q := "/probe?" + url.Values{"target": {srv}, "module": {module}}.Encode()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, q, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("HTTP %d", rec.Code)
				}
			}
		})
	}
}

// TestProbePQAuthMetrics: a classical crypto/tls server yields one
// probe_tls_certificate_info per certificate, ML-DSA capable 0 (it refuses
// the ML-DSA-only hello) and CNSA 2.0 unknown (its enumerate_groups leave the CNSA 2.0 groups out); a module without
// enumeration has the certificate family only.
func TestProbePQAuthMetrics(t *testing.T) {
	p := newPKI(t)
	addr := tlsServer(t, p, nil)
	for _, enum := range []bool{true, false} {
		cfg := "modules:\n  e:\n    timeout: 5s\n    ca_file: " + p.caFile + "\n"
		if enum {
			cfg += "    enumerate: true\n    enumerate_groups: [x25519, X25519MLKEM768]\n"
		}
		reg := prometheus.NewRegistry()
		res := probeWith(context.Background(), addr, mustConfig(t, cfg).Modules["e"], probeEnv{resolver: net.DefaultResolver, enumerate: scanEnumerate}, reg, nil)
		if !res.Success {
			t.Fatalf("probe failed: %s %s", res.Phase, res.Reason)
		}
		s := gauges(t, reg)
		if n := len(res.Certificates); n == 0 || s[`probe_tls_certificate_info{position=0,public_key_algorithm=ECDSA P-256,signature_algorithm=ECDSA-SHA256}`] != 1 {
			t.Errorf("enumerate=%v: %d certificates, series %v", enum, n, s)
		}
		capable, ok := s["probe_tls_ml_dsa_capable"]
		cnsa := s["probe_tls_cnsa2_info{verdict=unknown}"]
		if enum && (!ok || capable != 0 || cnsa != 1) {
			t.Errorf("enumeration: ml_dsa_capable %v (present %v), cnsa2 unknown %v", capable, ok, cnsa)
		}
		if !enum && (ok || cnsa != 0) {
			t.Errorf("no enumeration, yet ml_dsa_capable present %v, cnsa2 %v", ok, cnsa)
		}
	}
}

// TestCertificateLabelsBounded: an algorithm named by an unknown OID (a
// server's choice) becomes "other", and at most maxCertMetrics
// certificates are exported.
func TestCertificateLabelsBounded(t *testing.T) {
	res := &Result{Handshaked: true}
	for range maxCertMetrics + 5 {
		res.Certificates = append(res.Certificates, CertAlg{Signature: "OID 1.2.3.4.5", PublicKey: "ML-DSA-65"})
	}
	reg := prometheus.NewRegistry()
	recordPQAuth(reg, res)
	s := gauges(t, reg)
	if len(s) != maxCertMetrics || s[`probe_tls_certificate_info{position=0,public_key_algorithm=ML-DSA-65,signature_algorithm=other}`] != 1 {
		t.Errorf("series %v", s)
	}
}
