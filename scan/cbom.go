package scan

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/report"
)

func groupRef(id uint16) string {
	return fmt.Sprintf("crypto/algorithm/tls-group/%s", strings.ToLower(pqtls.GroupName(tls.CurveID(id))))
}

// BuildCBOM returns a CycloneDX 1.6 cryptographic bill of materials: one
// algorithm component per TLS group seen (primitive kem for hybrid/ML-KEM,
// key-agree for classical, nistQuantumSecurityLevel from FIPS 203), one
// protocol component per endpoint (TLS version, cipher suite, the groups it
// accepts), one certificate component per distinct certificate, and the
// dependencies between them. Endpoint verdicts and priorities are
// properties named pqtls:*.
func BuildCBOM(rep *Report) *report.BOM {
	b := &cbomBuilder{bom: report.NewBOM(rep.GeneratedAt, "pqtls", rep.Tool.Version), seen: map[string]bool{}}
	for i, r := range rep.Endpoints {
		b.endpoint(i, r)
	}
	return b.bom
}

// cbomBuilder adds each algorithm, key and certificate component once.
type cbomBuilder struct {
	bom  *report.BOM
	seen map[string]bool
}

func (b *cbomBuilder) addAlg(c report.Component) {
	if !b.seen[c.BOMRef] {
		b.seen[c.BOMRef] = true
		b.bom.Components = append(b.bom.Components, c)
	}
}

func (b *cbomBuilder) groupAlg(id uint16) string {
	ref := groupRef(id)
	g, ok := pqtls.LookupGroup(tls.CurveID(id))
	if !ok {
		g = pqtls.Group{ID: tls.CurveID(id), Name: pqtls.GroupName(tls.CurveID(id)), Kind: pqtls.KindUnknown}
	}
	prim, fns := "key-agree", []string{"keygen", "keyderive"}
	if g.Family == pqtls.FamilyMLKEM || g.Family == pqtls.FamilyHybrid {
		prim, fns = "kem", []string{"keygen", "encapsulate", "decapsulate"}
	}
	props := []report.Property{{Name: "pqtls:group_kind", Value: string(g.Kind)}, {Name: "pqtls:tls_codepoint", Value: hex16(id)}}
	if g.Kind == pqtls.KindDraft {
		props = append(props, report.Property{Name: "pqtls:note", Value: "obsolete pre-standard Kyber draft: not post-quantum ready"})
	}
	b.addAlg(report.Component{Type: "cryptographic-asset", BOMRef: ref, Name: g.Name, Properties: props,
		CryptoProperties: &report.CryptoProperties{AssetType: "algorithm", AlgorithmProperties: &report.AlgorithmProperties{
			Primitive: prim, ParameterSetIdentifier: g.Name, ExecutionEnvironment: "software-plain-ram", CryptoFunctions: fns,
			ClassicalSecurityLevel: g.ClassicalBits, NISTQuantumSecurityLevel: g.NISTLevel}}})
	return ref
}

// sigAlg adds a signature algorithm; ML-DSA carries its FIPS 204
// category as nistQuantumSecurityLevel (ML-DSA-44 2, -65 3, -87 5).
func (b *cbomBuilder) sigAlg(name string) string {
	ref := "crypto/algorithm/signature/" + strings.ToLower(name)
	b.addAlg(report.Component{Type: "cryptographic-asset", BOMRef: ref, Name: name,
		CryptoProperties: &report.CryptoProperties{AssetType: "algorithm", AlgorithmProperties: &report.AlgorithmProperties{
			Primitive: "signature", ParameterSetIdentifier: name, CryptoFunctions: []string{"sign", "verify"}, NISTQuantumSecurityLevel: mldsaLevel(name)}}})
	return ref
}

// keyRef adds the certificate's public key (related-crypto-material) and
// the key algorithm it uses (an ML-DSA key is named by its parameter set).
func (b *cbomBuilder) keyRef(certSHA, typ string, bits int) string {
	n, param, level := fmt.Sprintf("%s-%d", strings.ReplaceAll(typ, " ", "-"), bits), fmt.Sprint(bits), mldsaLevel(typ)
	if level > 0 {
		n, param = typ, typ
	}
	alg := "crypto/algorithm/public-key/" + strings.ToLower(n)
	prim := "signature"
	if strings.HasPrefix(typ, "RSA") {
		prim = "pke"
	}
	b.addAlg(report.Component{Type: "cryptographic-asset", BOMRef: alg, Name: n,
		CryptoProperties: &report.CryptoProperties{AssetType: "algorithm", AlgorithmProperties: &report.AlgorithmProperties{
			Primitive: prim, ParameterSetIdentifier: param, NISTQuantumSecurityLevel: level}}})
	ref := "crypto/key/" + certSHA
	b.addAlg(report.Component{Type: "cryptographic-asset", BOMRef: ref, Name: n + " public key",
		CryptoProperties: &report.CryptoProperties{AssetType: "related-crypto-material", RelatedCryptoMaterialProperties: &report.RelatedCryptoMaterialProperties{
			Type: "public-key", AlgorithmRef: alg, Size: bits}}})
	b.bom.Dependencies = append(b.bom.Dependencies, report.Dependency{Ref: ref, DependsOn: []string{alg}})
	return ref
}

// certificate adds a certificate with its signature and key algorithms.
func (b *cbomBuilder) certificate(c CertInfo) string {
	ref := "crypto/certificate/" + c.SHA256
	if !b.seen[ref] {
		cp := &report.CertificateProperties{SubjectName: c.Subject, IssuerName: c.Issuer, NotValidBefore: c.NotBefore.Format(time.RFC3339),
			NotValidAfter: c.NotAfter.Format(time.RFC3339), SignatureAlgorithmRef: b.sigAlg(c.SignatureAlgorithm),
			SubjectPublicKeyRef: b.keyRef(c.SHA256, c.KeyType, c.KeyBits), CertificateFormat: "X.509", CertificateExtension: "der"}
		b.addAlg(report.Component{Type: "cryptographic-asset", BOMRef: ref, Name: c.Subject,
			CryptoProperties: &report.CryptoProperties{AssetType: "certificate", CertificateProperties: cp}})
		b.bom.Dependencies = append(b.bom.Dependencies, report.Dependency{Ref: ref, DependsOn: []string{cp.SignatureAlgorithmRef, cp.SubjectPublicKeyRef}})
	}
	return ref
}

// endpoint adds one endpoint (protocol component) and what it uses.
func (b *cbomBuilder) endpoint(i int, r Result) {
	epRef := fmt.Sprintf("crypto/protocol/tls/%d/%s", i, r.Address)
	var deps []string
	pp := &report.ProtocolProperties{Type: "tls"}
	if len(r.Versions) > 0 {
		pp.Version = strings.TrimPrefix(r.Versions[0], "TLS ")
	}
	for _, g := range r.Groups {
		if g.Broken() {
			continue // selected in an HRR but never completes: not a usable algorithm
		}
		ref := b.groupAlg(g.ID)
		pp.CryptoRefArray = append(pp.CryptoRefArray, ref)
		deps = append(deps, ref)
	}
	if dc := r.DefaultClient; dc != nil && dc.Error == "" {
		cs := report.CipherSuite{Name: dc.CipherSuite}
		if dc.GroupID != 0 {
			ref := b.groupAlg(dc.GroupID)
			cs.Algorithms = append(cs.Algorithms, ref)
			if !contains(deps, ref) {
				deps = append(deps, ref)
				pp.CryptoRefArray = append(pp.CryptoRefArray, ref)
			}
		}
		for _, s := range tls.CipherSuites() {
			if s.Name == dc.CipherSuite {
				cs.Identifiers = []string{hex16(s.ID)}
			}
		}
		pp.CipherSuites = append(pp.CipherSuites, cs)
	}
	for _, c := range r.Certificates {
		deps = append(deps, b.certificate(c))
	}
	if r.MLDSA != nil {
		for _, ch := range r.MLDSA.Chains {
			for _, c := range ch.Certificates {
				if ref := b.certificate(c); !contains(deps, ref) {
					deps = append(deps, ref)
				}
			}
		}
	}
	props := []report.Property{{Name: "pqtls:verdict", Value: string(r.Verdict)}, {Name: "pqtls:reason", Value: r.Reason},
		{Name: "pqtls:cnsa2", Value: string(r.CNSA2.Verdict)},
		{Name: "pqtls:priority", Value: r.Priority.Level}, {Name: "pqtls:priority_score", Value: fmt.Sprint(r.Priority.Score)},
		{Name: "pqtls:address", Value: r.Address}}
	if r.Target.Service != "" {
		props = append(props, report.Property{Name: "pqtls:service", Value: r.Target.Service})
	}
	if r.Target.Owner != "" {
		props = append(props, report.Property{Name: "pqtls:owner", Value: r.Target.Owner})
	}
	if len(r.ServerPreference) > 0 {
		props = append(props, report.Property{Name: "pqtls:server_preference", Value: strings.Join(r.ServerPreference, ",")})
	}
	b.bom.Components = append(b.bom.Components, report.Component{Type: "cryptographic-asset", BOMRef: epRef, Name: "TLS " + name(r),
		CryptoProperties: &report.CryptoProperties{AssetType: "protocol", ProtocolProperties: pp}, Properties: props})
	if deps == nil {
		deps = []string{}
	}
	b.bom.Dependencies = append(b.bom.Dependencies, report.Dependency{Ref: epRef, DependsOn: deps})
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
