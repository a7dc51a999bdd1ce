package exporter

import (
	"crypto/x509"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls/internal/certalg"
)

// PQAuth is what an enumeration learnt about post-quantum authentication:
// the Enumerator fills it from scan's ML-DSA probe and CNSA 2.0 verdict.
type PQAuth struct {
	// MLDSACapable is true when the server signs with ML-DSA for a client
	// offering only ML-DSA, false when it refuses, nil when unknown.
	MLDSACapable *bool
	// MLDSASchemes are the ML-DSA schemes it signs with (mldsa44, mldsa65,
	// mldsa87).
	MLDSASchemes []string
	// CNSA2 is scan's CNSA 2.0 verdict (ready, transitional, not_ready,
	// unknown), "" when not assessed.
	CNSA2 string
}

// CertAlg is one certificate of the chain the probing client received.
type CertAlg struct {
	// Signature and PublicKey are the algorithm names of internal/certalg
	// ("ML-DSA-65", "ECDSA-SHA256"; "ECDSA P-256", "RSA-2048").
	Signature, PublicKey string
}

// maxCertMetrics bounds probe_tls_certificate_info to the first
// certificates of a chain.
const maxCertMetrics = 8

// mldsaSchemeNames are the only scheme label values.
var mldsaSchemeNames = []string{"mldsa44", "mldsa65", "mldsa87"}

// certAlgs names the algorithms of a chain, leaf first.
func certAlgs(certs []*x509.Certificate) []CertAlg {
	out := make([]CertAlg, 0, len(certs))
	for _, c := range certs {
		sig, key := certalg.Names(c)
		out = append(out, CertAlg{Signature: sig, PublicKey: key})
	}
	return out
}

// algLabel keeps label values bounded: an algorithm the server names by an
// unknown OID is "other".
func algLabel(name string) string {
	if name == "" || strings.HasPrefix(name, "OID ") {
		return "other"
	}
	return name
}

// pqAuthMetrics are the post-quantum authentication families of a probe.
type pqAuthMetrics struct {
	cert, scheme, cnsa2 *prometheus.GaugeVec
	capable             prometheus.Gauge
}

func newPQAuthMetrics() *pqAuthMetrics {
	return &pqAuthMetrics{
		cert: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_tls_certificate_info", Help: "1 per certificate the probing client received: position (0 = leaf), signature and public-key algorithm.",
		}, []string{"position", "signature_algorithm", "public_key_algorithm"}),
		capable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "probe_tls_ml_dsa_capable", Help: "Enumeration: 1 if the server authenticates with ML-DSA for a client offering only ML-DSA signature schemes, 0 if it refuses.",
		}),
		scheme: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_tls_ml_dsa_scheme_info", Help: "Enumeration: 1 for each ML-DSA signature scheme the server signs with.",
		}, []string{"scheme"}),
		cnsa2: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_tls_cnsa2_info", Help: "Enumeration: 1 for the endpoint's CNSA 2.0 verdict (ready, transitional, not_ready, unknown).",
		}, []string{"verdict"}),
	}
}

// recordPQAuth registers and sets the certificate families (after a
// handshake) and the ML-DSA / CNSA 2.0 ones (after an enumeration that
// reached the server).
func recordPQAuth(reg prometheus.Registerer, res *Result) {
	pm := newPQAuthMetrics()
	if res.Handshaked && len(res.Certificates) > 0 {
		reg.MustRegister(pm.cert)
		for i, c := range res.Certificates[:min(len(res.Certificates), maxCertMetrics)] {
			pm.cert.WithLabelValues(strconv.Itoa(i), algLabel(c.Signature), algLabel(c.PublicKey)).Set(1)
		}
	}
	if !res.Enumerated || res.EnumerationError != nil {
		return
	}
	if a := res.PQAuth; a.MLDSACapable != nil {
		reg.MustRegister(pm.capable, pm.scheme)
		pm.capable.Set(b2f(*a.MLDSACapable))
		for _, s := range a.MLDSASchemes {
			for _, known := range mldsaSchemeNames {
				if s == known {
					pm.scheme.WithLabelValues(s).Set(1)
				}
			}
		}
	}
	if res.PQAuth.CNSA2 != "" {
		reg.MustRegister(pm.cnsa2)
		pm.cnsa2.WithLabelValues(res.PQAuth.CNSA2).Set(1)
	}
}
