package exporter

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

// TestInteropDeb13ProbeMLDSA probes openssl s_server 3.5 serving two
// certificates at once (an ECDSA P-256 one with -cert, an ML-DSA-87 chain
// with -dcert) and a classical-only one: the certificate info of the chain
// the probing client gets, ML-DSA capability, its scheme and the CNSA 2.0
// verdict.
func TestInteropDeb13ProbeMLDSA(t *testing.T) {
	d := testpeer.Deb13(t)
	dir := d.TempDir(t)
	p256, p256Key := d.OpenSSLCert(t, dir, "p256", "ECDSA P-256", "")
	ca87, _ := d.OpenSSLCert(t, dir, "ca87", "ML-DSA-87", "")
	leaf87, leaf87Key := d.OpenSSLCert(t, dir, "leaf87", "ML-DSA-87", "ca87")
	// Both roots: a Go 1.27 client gets the ML-DSA chain, a Go 1.26 one
	// the ECDSA certificate.
	var roots []byte
	for _, f := range []string{p256, ca87} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, b...)
	}
	caFile := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(caFile, roots, 0o600); err != nil {
		t.Fatal(err)
	}
	e := newExporter(t, mustConfig(t, "modules:\n  enum:\n    timeout: 10s\n    ca_file: "+caFile+"\n    enumerate: true\n    enumerate_groups: [X25519MLKEM768, MLKEM1024, SecP384r1MLKEM1024, x25519]\n"), nil)
	_, err := pqtls.ParseAuth("prefer-pq")
	goMLDSA := err == nil

	both := d.SServer(t, "-cert", p256, "-key", p256Key, "-dcert", leaf87, "-dkey", leaf87Key, "-dcert_chain", ca87, "-groups", "MLKEM1024:X25519MLKEM768:X25519")
	m := probeHTTP(t, e, both, "enum", nil)
	m.want(t, 1, "probe_success")
	if goMLDSA {
		m.want(t, 1, "probe_tls_certificate_info", "position", "0", "signature_algorithm", "ML-DSA-87", "public_key_algorithm", "ML-DSA-87")
		m.want(t, 1, "probe_tls_certificate_info", "position", "1", "signature_algorithm", "ML-DSA-87", "public_key_algorithm", "ML-DSA-87")
	} else {
		m.want(t, 1, "probe_tls_certificate_info", "position", "0", "signature_algorithm", "ECDSA-SHA256", "public_key_algorithm", "ECDSA P-256")
	}
	m.want(t, 1, "probe_tls_ml_dsa_capable")
	m.want(t, 1, "probe_tls_ml_dsa_scheme_info", "scheme", "mldsa87")
	if _, ok := m.value("probe_tls_ml_dsa_scheme_info", "scheme", "mldsa44"); ok {
		t.Error("mldsa44 reported, the server has no ML-DSA-44 certificate")
	}
	m.want(t, 1, "probe_tls_cnsa2_info", "verdict", "ready")

	classical := d.SServer(t, "-cert", p256, "-key", p256Key)
	m = probeHTTP(t, e, classical, "enum", nil)
	m.want(t, 1, "probe_success")
	m.want(t, 1, "probe_tls_certificate_info", "position", "0", "signature_algorithm", "ECDSA-SHA256", "public_key_algorithm", "ECDSA P-256")
	m.want(t, 0, "probe_tls_ml_dsa_capable")
	m.want(t, 1, "probe_tls_cnsa2_info", "verdict", "not_ready")
}
