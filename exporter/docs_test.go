package exporter

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/doccheck"
	"github.com/pqtls/pqtls/observe"
	"github.com/pqtls/pqtls/tunnel"
)

// TestMetricsDocumented checks that docs/METRICS.md names every metric the
// exporter emits, every tls_handshake_* metric, every group label and every
// error reason.
func TestMetricsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	names := map[string]bool{}
	// Probe metrics, enumeration included (a successful probe registers
	// every family but probe_tls_failure_info's samples).
	reg := prometheus.NewRegistry()
	p := newPKI(t)
	m := mustConfig(t, "modules:\n  e:\n    timeout: 5s\n    ca_file: "+p.caFile+"\n    enumerate: true\n    enumerate_groups: [x25519]\n").Modules["e"]
	if res := probeWith(context.Background(), tlsServer(t, p, nil), m, probeEnv{resolver: net.DefaultResolver, enumerate: scanEnumerate}, reg, nil); !res.Success {
		t.Fatalf("probe failed: %s %s", res.Phase, res.Reason)
	}
	health := prometheus.NewRegistry()
	newExporter(t, mustConfig(t, "modules:\n  a: {}\n"), health)
	// pqtls observe's own metrics.
	obs := prometheus.NewRegistry()
	if _, err := observe.NewRecorder(obs); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*prometheus.Registry{reg, health, obs} {
		mfs, err := r.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			names[mf.GetName()] = true
		}
	}
	for _, n := range []string{"probe_success", "probe_duration_seconds", "probe_tls_group_info", "probe_tls_version_info", "probe_tls_cipher_info",
		"probe_tls_hello_retry", "probe_tls_client_hello_bytes", "probe_ssl_earliest_cert_expiry",
		pqtls.MetricGroupTotal, pqtls.MetricDuration, pqtls.MetricErrorsTotal, pqtls.MetricHelloRetryTotal,
		tunnel.MetricConnectionsActive, tunnel.MetricConnectionsTotal, tunnel.MetricBytesTotal, tunnel.MetricConnectionDuration,
		tunnel.MetricBackendDial, tunnel.MetricBackendErrors, tunnel.MetricReloads, tunnel.MetricReloadErrors,
		tunnel.DirectionToTarget, tunnel.DirectionFromTarget} {
		names[n] = true
	}
	if len(names) < 20 {
		t.Fatalf("only %d metric names gathered", len(names))
	}
	for n := range names {
		if !strings.Contains(text, "`"+n+"`") {
			t.Errorf("docs/METRICS.md does not document %s", n)
		}
	}
	for _, g := range pqtls.Groups() {
		if !strings.Contains(text, g.Label) {
			t.Errorf("docs/METRICS.md does not list group label %s", g.Label)
		}
	}
	reasons := append([]string{pqtls.ReasonTimeout, pqtls.ReasonEOF, pqtls.ReasonReset, pqtls.ReasonNotTLS, pqtls.ReasonProtocolVersion,
		pqtls.ReasonNoSharedGroup, pqtls.ReasonBadCertificate, pqtls.ReasonUnknownCA, pqtls.ReasonExpiredCertificate,
		pqtls.ReasonPolicyClassicalPeer, pqtls.ReasonACLDenied, pqtls.ReasonCanceled, pqtls.ReasonOther,
		ReasonRefused, ReasonUnreachable, ReasonDNS}, pqtls.AlertReasons...)
	for _, r := range reasons {
		if !strings.Contains(text, "`"+r+"`") {
			t.Errorf("docs/METRICS.md does not list reason %s", r)
		}
	}
	for _, k := range []pqtls.Kind{pqtls.KindClassical, pqtls.KindHybrid, pqtls.KindPQ, pqtls.KindDraft, pqtls.KindUnknown} {
		if !strings.Contains(text, "`"+string(k)+"`") {
			t.Errorf("docs/METRICS.md does not list kind %s", k)
		}
	}
}

// TestExporterKeysDocumented checks that docs/EXPORTER.md documents every
// module key (the flags are checked in cmd/pqtls).
func TestExporterKeysDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/EXPORTER.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	n := 0
	for _, f := range doccheck.Fields(Module{}, "yaml") {
		n++
		if !strings.Contains(text, "`"+f.Name+"`") {
			t.Errorf("docs/EXPORTER.md does not document module key %s%s", f.Path, f.Name)
		}
	}
	if n < 11 {
		t.Errorf("only %d module keys found", n)
	}
}
