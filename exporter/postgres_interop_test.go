package exporter

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// TestInteropProbePostgresSTARTTLS probes Debian's PostgreSQL 15 (OpenSSL
// 3.0, ssl_ecdh_curve prime256v1) through its SSLRequest preamble: the
// default client gets secp256r1 after a HelloRetryRequest (its key shares
// are X25519MLKEM768 and X25519), and enumeration finds secp256r1 only.
func TestInteropProbePostgresSTARTTLS(t *testing.T) {
	testpeer.Require(t, testpeer.PeerPostgres)
	ca := testpki.NewCA(t)
	pg := testpeer.Postgres(t, testpeer.PostgresOptions{Cert: ca.Server(t, testpki.CertOptions{}), ECDHCurve: "prime256v1"})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustConfig(t, "modules:\n  postgres:\n    timeout: 10s\n    starttls: postgres\n    ca_file: "+caFile+
		"\n    enumerate: true\n    enumerate_groups: [X25519MLKEM768, SecP256r1MLKEM768, x25519, secp256r1, secp384r1]\n"+
		"  plain:\n    timeout: 5s\n    ca_file: "+caFile+"\n")
	e := newExporter(t, cfg, nil)
	s := probeHTTP(t, e, pg.Addr, "postgres", nil)
	s.want(t, 1, "probe_success")
	s.want(t, 1, "probe_tls_group_info", "group", "secp256r1", "kind", "classical")
	s.want(t, 1, "probe_tls_hello_retry")
	s.want(t, 0, "probe_tls_pq_ready")
	s.want(t, 1, "probe_tls_version_info", "version", "TLS 1.3")
	s.want(t, 1, "probe_tls_group_supported", "group", "secp256r1")
	for _, g := range []string{"x25519_mlkem768", "secp256r1_mlkem768", "x25519", "secp384r1"} {
		s.want(t, 0, "probe_tls_group_supported", "group", g)
	}
	s.want(t, 1, "probe_tls_large_client_hello_ok")

	// Without the preamble PostgreSQL does not speak TLS:
	s = probeHTTP(t, e, pg.Addr, "plain", nil)
	s.want(t, 0, "probe_success")
	// PostgreSQL reads the ClientHello as a startup packet with a bogus
	// length and hangs up.
	s.want(t, 1, "probe_tls_failure_info", "phase", "handshake", "reason", "eof")
}
