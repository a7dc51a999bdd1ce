package exporter

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// TestInteropBlackboxAgrees probes the same servers with the pqtls exporter
// and Debian's blackbox_exporter 0.23 (tcp prober, tls: true): the
// reference docs/PERFORMANCE.md compares it with, and the exporter whose
// metric names docs/METRICS.md says pqtls shares. Both must reach the same
// verdict, and where both succeed report the same probe_tls_version_info
// and probe_ssl_earliest_cert_expiry. The one server where they must
// differ is the one pqtls exists for: it accepts only X25519MLKEM768, which
// blackbox_exporter's Go cannot offer.
func TestInteropBlackboxAgrees(t *testing.T) {
	ca := testpki.NewCA(t)
	caFile := ca.WriteCertFile(t, t.TempDir())
	good := ca.Server(t, testpki.CertOptions{})
	expired := ca.Server(t, testpki.CertOptions{Expired: true})
	otherName := ca.Server(t, testpki.CertOptions{DNSNames: []string{"other.example"}, NoDefaultSANs: true})
	stranger := testpki.NewCA(t).Server(t, testpki.CertOptions{})
	hybridOnly := serveTLS(t, good.TLS, []tls.CurveID{tls.X25519MLKEM768}, tls.VersionTLS13)

	bb := testpeer.Blackbox(t, "modules:\n  tls:\n    prober: tcp\n    timeout: 5s\n    tcp:\n      tls: true\n      tls_config:\n        ca_file: "+caFile+"\n")
	e := newExporter(t, mustConfig(t, "modules:\n  default:\n    timeout: 5s\n    ca_file: "+caFile+"\n"), nil)

	cases := []struct {
		name            string
		target          string
		pqtls, blackbox float64 // probe_success
		version         string  // when both succeed
		notAfter        time.Time
	}{
		{"tls13_default_groups", serveTLS(t, good.TLS, nil, tls.VersionTLS13), 1, 1, "TLS 1.3", good.Leaf.NotAfter},
		{"tls12_only", serveTLS(t, good.TLS, nil, tls.VersionTLS12), 1, 1, "TLS 1.2", good.Leaf.NotAfter},
		{"classical_only", serveTLS(t, good.TLS, []tls.CurveID{tls.X25519, tls.CurveP256}, tls.VersionTLS13), 1, 1, "TLS 1.3", good.Leaf.NotAfter},
		{"hybrid_only", hybridOnly, 1, 0, "", time.Time{}},
		{"expired", serveTLS(t, expired.TLS, nil, tls.VersionTLS13), 0, 0, "", time.Time{}},
		{"wrong_name", serveTLS(t, otherName.TLS, nil, tls.VersionTLS13), 0, 0, "", time.Time{}},
		{"unknown_ca", serveTLS(t, stranger.TLS, nil, tls.VersionTLS13), 0, 0, "", time.Time{}},
		{"closed_port", closedPort(t), 0, 0, "", time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pq := probeHTTP(t, e, c.target, "default", nil)
			bbs := parseExposition(t, bb.Probe(t, "tls", c.target))
			pq.want(t, c.pqtls, "probe_success")
			if got, _ := bbs.value("probe_success"); got != c.blackbox {
				t.Errorf("blackbox_exporter probe_success = %v, want %v (Debian 12's build has no ML-KEM: if a newer one offers X25519MLKEM768, hybrid_only no longer differs)", got, c.blackbox)
			}
			if c.pqtls != 1 || c.blackbox != 1 {
				return
			}
			pq.want(t, 1, "probe_tls_version_info", "version", c.version)
			if got, ok := bbs.value("probe_tls_version_info", "version", c.version); !ok || got != 1 {
				t.Errorf("blackbox_exporter probe_tls_version_info{version=%q} = %v (present %v), want 1", c.version, got, ok)
			}
			want := float64(c.notAfter.Unix())
			pq.want(t, want, "probe_ssl_earliest_cert_expiry")
			if got, _ := bbs.value("probe_ssl_earliest_cert_expiry"); got != want {
				t.Errorf("blackbox_exporter probe_ssl_earliest_cert_expiry = %v, want %v (the same name must mean the same)", got, want)
			}
		})
	}
	// What only pqtls can say about the hybrid-only server.
	s := probeHTTP(t, e, hybridOnly, "default", nil)
	s.want(t, 1, "probe_tls_pq_ready")
	s.want(t, 1, "probe_tls_group_info", "group", "x25519_mlkem768", "kind", "hybrid")
}
