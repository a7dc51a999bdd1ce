package exporter

import (
	"context"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

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
