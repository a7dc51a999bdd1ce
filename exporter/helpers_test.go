package exporter

// The shared setup of the exporter tests: PKI and TLS servers on loopback,
// configurations, /probe through the handler, scrapes, a fake resolver and
// the scan-backed Enumerator.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/scan"
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
	cfg := &tls.Config{Certificates: []tls.Certificate{p.server.TLS()}, CurvePreferences: groups, MinVersion: tls.VersionTLS12, MaxVersion: maxVersion}
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
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /probe output: %v", err)
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

func devpkiClient() devpki.Request {
	return devpki.Request{CommonName: "exporter probe", Client: true}
}

// scanEnumerate is the Enumerator the tests use: scan's engine, as
// 'pqtls exporter' wires it (cmd/pqtls/exporter.go, scanEnumerator; the
// exporter package itself may not import scan).
func scanEnumerate(ctx context.Context, r EnumRequest) (EnumResult, error) {
	t := scan.Target{Input: net.JoinHostPort(r.Host, strconv.Itoa(r.Port)), Source: "exporter", Host: r.Host, IP: r.IP.String(),
		Port: r.Port, ServerName: r.ServerName, StartTLS: scan.ProtoNone}
	res, err := scan.ScanOne(ctx, t, scan.Options{Enumerate: true, Groups: r.Groups, ServerName: r.ServerName, RootCAs: r.RootCAs,
		ClientCert: r.ClientCert, ALPN: r.ALPN, StartTLS: r.StartTLS, Retries: -1, Timeout: r.Timeout, DialContext: r.DialContext, Logger: r.Logger})
	if err == nil && res.Error != "" {
		err = fmt.Errorf("enumeration: %s (%s)", res.Verdict, res.Reason)
	}
	out := EnumResult{TLS12Curves: res.TLS12Curves, Connections: res.Connections, ProbeErrors: len(res.ProbeErrors),
		Supported: res.SupportedGroups()}
	out.PQAuth.CNSA2 = string(res.CNSA2.Verdict)
	if res.MLDSA != nil {
		out.PQAuth.MLDSACapable = res.MLDSA.Capable
		out.PQAuth.MLDSASchemes = res.MLDSA.Schemes()
	}
	return out, err
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
