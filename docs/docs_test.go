// Package docs_test checks the reference pages in this folder against the
// code's own lists, in one place for every package: the metric descriptors
// each tool registers (and the families a probe emits), pqtls.Reasons(),
// the group registry and its kinds. Nothing is copied by hand: a new
// metric, reason or group fails here until its docs line exists. Checks of
// one package's own page (canary.Verdicts in docs/CANARY.md, scan's schema,
// lint's rule reference) stay next to that package.
package docs_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/exporter"
	"github.com/pqtls/pqtls/internal/httpserve"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
	"github.com/pqtls/pqtls/observe"
	"github.com/pqtls/pqtls/tunnel"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recorder is a registry that also keeps the name of every descriptor
// registered on it, including vectors that have no sample yet.
type recorder struct {
	*prometheus.Registry
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return r.Registry.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// registered returns the metric names every long-running part of pqtls
// registers: the library's tls_handshake_*, the tunnel, pqtls observe, the
// exporter's health metrics and the side-port connection cap, plus the
// families of two /probe answers (a successful enumerating probe and a
// refused connection: each probe has its own registry).
func registered(t *testing.T) map[string]bool {
	names := map[string]bool{}
	rec := func() *recorder { return &recorder{Registry: prometheus.NewRegistry(), names: names} }
	if _, err := pqtls.NewMetrics(rec()); err != nil {
		t.Fatal(err)
	}
	if _, err := observe.NewRecorder(rec()); err != nil {
		t.Fatal(err)
	}
	if _, err := httpserve.NewRejectedCounter(rec(), "docs"); err != nil {
		t.Fatal(err)
	}
	ca := testpki.NewCA(t)
	tu, err := tunnel.Start(t.Context(), tunnel.Config{Listeners: []tunnel.ListenerConfig{{
		Name: "docs", Mode: tunnel.ModeClient, Listen: "127.0.0.1:0", Target: "127.0.0.1:1",
		CA: ca.WriteCertFile(t, t.TempDir()), ServerName: "localhost",
	}}}, tunnel.Options{Registerer: rec(), NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	tu.Close()

	cfg, err := exporter.ParseConfig([]byte("allowed_targets: [127.0.0.0/8]\nmodules:\n  e:\n    timeout: 5s\n    ca_file: "+
		ca.WriteCertFile(t, t.TempDir())+"\n    enumerate: true\n    enumerate_groups: [x25519]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	// The enumerator stands in for scan's engine: only the metric
	// families matter here.
	enum := func(context.Context, exporter.EnumRequest) (exporter.EnumResult, error) {
		return exporter.EnumResult{Supported: []tls.CurveID{tls.X25519}, Connections: 1}, nil
	}
	e, err := exporter.New(exporter.Options{Config: cfg, Registerer: rec(), Version: "docs", Enumerator: enum})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false))
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 5*time.Second, func(c net.Conn) {
		_ = c.(*tls.Conn).Handshake()
		_, _ = io.Copy(io.Discard, c)
	})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	srv := httptest.NewServer(e.Handler(nil))
	defer srv.Close()
	family := regexp.MustCompile(`(?m)^# TYPE (\S+) `)
	for _, target := range []string{ln.Addr().String(), closed.Addr().String()} {
		resp, err := http.Get(srv.URL + "/probe?module=e&target=" + url.QueryEscape(target))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, m := range family.FindAllStringSubmatch(string(body), -1) {
			names[m[1]] = true
		}
	}
	return names
}

// TestMetricsDocumented: docs/METRICS.md names every metric above, every
// group label and every group kind.
func TestMetricsDocumented(t *testing.T) {
	text := read(t, "METRICS.md")
	names := registered(t)
	// The descriptors must reach every tool: one known name of each.
	for _, n := range []string{pqtls.MetricErrorsTotal, tunnel.MetricReloads, "pqtls_observe_packets_total",
		"pqtls_exporter_build_info", "pqtls_http_connections_rejected_total", "probe_success", "probe_tls_group_info", "probe_tls_failure_info"} {
		if !names[n] {
			t.Errorf("%s was not found among the registered metrics: the test no longer sees every tool", n)
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if !strings.Contains(text, "`"+n+"`") {
			t.Errorf("docs/METRICS.md does not document %s", n)
		}
	}
	kinds := []pqtls.Kind{pqtls.GroupKind(0xFFFF)}
	for _, g := range pqtls.Groups() {
		if !strings.Contains(text, g.Label) {
			t.Errorf("docs/METRICS.md does not list group label %s", g.Label)
		}
		if !slices.Contains(kinds, g.Kind) {
			kinds = append(kinds, g.Kind)
		}
	}
	for _, k := range kinds {
		if !strings.Contains(text, "`"+string(k)+"`") {
			t.Errorf("docs/METRICS.md does not list kind %s", k)
		}
	}
	for _, d := range []string{tunnel.DirectionToTarget, tunnel.DirectionFromTarget} {
		if !strings.Contains(text, "`"+d+"`") {
			t.Errorf("docs/METRICS.md does not list direction %s", d)
		}
	}
}

// TestReasonsDocumented: docs/METRICS.md documents every reason of
// pqtls.Reasons() (the plain ones as rows of the reason table, the alert_*
// ones in its alert row), every exporter failure and refusal reason, and
// no reason the code does not have.
func TestReasonsDocumented(t *testing.T) {
	text := read(t, "METRICS.md")
	rs := pqtls.Reasons()
	if len(rs) < 40 || !slices.Contains(rs, pqtls.ReasonPolicyClassicalPeer) || !slices.Contains(rs, "alert_handshake_failure") {
		t.Fatalf("pqtls.Reasons() = %v", rs)
	}
	for _, r := range rs {
		if !pqtls.KnownReason(r) {
			t.Errorf("%s is in Reasons() but not KnownReason", r)
		}
		pattern := "| `" + r + "` |"
		if strings.HasPrefix(r, "alert_") {
			pattern = "`" + r + "`"
		}
		if !strings.Contains(text, pattern) {
			t.Errorf("docs/METRICS.md does not document reason %s", r)
		}
	}
	for _, r := range append(exporter.Reasons(), exporter.RefusedReasons()...) {
		if !strings.Contains(text, "`"+r+"`") {
			t.Errorf("docs/METRICS.md does not document exporter reason %s", r)
		}
	}
	section := text[strings.Index(text, "### `reason`"):]
	section = section[:strings.Index(section, "\n## ")]
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ").FindAllStringSubmatch(section, -1) {
		if !pqtls.KnownReason(m[1]) && !strings.HasPrefix(m[1], "alert_") {
			t.Errorf("docs/METRICS.md documents unknown reason %s", m[1])
		}
	}
}
