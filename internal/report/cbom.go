package report

import (
	"crypto/rand"
	"fmt"
	"time"
)

// CycloneDX 1.6 types, limited to what a cryptographic bill of materials
// (CBOM) needs: components of type "cryptographic-asset" with
// cryptoProperties, services, and dependencies. Field names follow the
// CycloneDX 1.6 JSON schema.

// BOM is a CycloneDX document.
type BOM struct {
	BOMFormat    string       `json:"bomFormat"`
	SpecVersion  string       `json:"specVersion"`
	SerialNumber string       `json:"serialNumber"`
	Version      int          `json:"version"`
	Metadata     BOMMetadata  `json:"metadata"`
	Components   []Component  `json:"components"`
	Services     []Service    `json:"services,omitempty"`
	Dependencies []Dependency `json:"dependencies,omitempty"`
}

// BOMMetadata is bom.metadata.
type BOMMetadata struct {
	Timestamp string           `json:"timestamp"`
	Tools     *BOMTools        `json:"tools,omitempty"`
	Component *Component       `json:"component,omitempty"`
	Props     []Property       `json:"properties,omitempty"`
	Lifecycle []map[string]any `json:"lifecycles,omitempty"`
}

// BOMTools is metadata.tools in the 1.5+ object form.
type BOMTools struct {
	Components []Component `json:"components"`
}

// Component is a CycloneDX component.
type Component struct {
	Type             string            `json:"type"`
	BOMRef           string            `json:"bom-ref,omitempty"`
	Name             string            `json:"name"`
	Version          string            `json:"version,omitempty"`
	Description      string            `json:"description,omitempty"`
	CryptoProperties *CryptoProperties `json:"cryptoProperties,omitempty"`
	Properties       []Property        `json:"properties,omitempty"`
}

// CryptoProperties is component.cryptoProperties (CycloneDX 1.6).
type CryptoProperties struct {
	// AssetType is algorithm, certificate, protocol or
	// related-crypto-material.
	AssetType             string                 `json:"assetType"`
	AlgorithmProperties   *AlgorithmProperties   `json:"algorithmProperties,omitempty"`
	CertificateProperties *CertificateProperties `json:"certificateProperties,omitempty"`
	// RelatedCryptoMaterialProperties describes keys, secrets, tokens.
	RelatedCryptoMaterialProperties *RelatedCryptoMaterialProperties `json:"relatedCryptoMaterialProperties,omitempty"`
	ProtocolProperties              *ProtocolProperties              `json:"protocolProperties,omitempty"`
	OID                             string                           `json:"oid,omitempty"`
}

// AlgorithmProperties describes an algorithm asset.
type AlgorithmProperties struct {
	// Primitive: kem, key-agree, signature, ae, hash, combiner, ...
	Primitive              string   `json:"primitive"`
	ParameterSetIdentifier string   `json:"parameterSetIdentifier,omitempty"`
	Curve                  string   `json:"curve,omitempty"`
	ExecutionEnvironment   string   `json:"executionEnvironment,omitempty"`
	CryptoFunctions        []string `json:"cryptoFunctions,omitempty"`
	ClassicalSecurityLevel int      `json:"classicalSecurityLevel,omitempty"`
	// NISTQuantumSecurityLevel is 0 (not quantum-safe) to 6.
	NISTQuantumSecurityLevel int `json:"nistQuantumSecurityLevel"`
}

// CertificateProperties describes a certificate asset.
type CertificateProperties struct {
	SubjectName           string `json:"subjectName,omitempty"`
	IssuerName            string `json:"issuerName,omitempty"`
	NotValidBefore        string `json:"notValidBefore,omitempty"`
	NotValidAfter         string `json:"notValidAfter,omitempty"`
	SignatureAlgorithmRef string `json:"signatureAlgorithmRef,omitempty"`
	SubjectPublicKeyRef   string `json:"subjectPublicKeyRef,omitempty"`
	CertificateFormat     string `json:"certificateFormat,omitempty"`
	CertificateExtension  string `json:"certificateExtension,omitempty"`
}

// RelatedCryptoMaterialProperties describes a related-crypto-material asset
// (e.g. a certificate's public key).
type RelatedCryptoMaterialProperties struct {
	// Type is public-key, private-key, secret-key, signature, ...
	Type         string `json:"type"`
	AlgorithmRef string `json:"algorithmRef,omitempty"`
	Size         int    `json:"size,omitempty"`
}

// ProtocolProperties describes a protocol asset (e.g. TLS on an endpoint).
type ProtocolProperties struct {
	// Type is tls, ssh, ipsec, ike, sstp, wpa, other or unknown.
	Type           string        `json:"type"`
	Version        string        `json:"version,omitempty"`
	CipherSuites   []CipherSuite `json:"cipherSuites,omitempty"`
	CryptoRefArray []string      `json:"cryptoRefArray,omitempty"`
}

// CipherSuite is one entry of protocolProperties.cipherSuites.
type CipherSuite struct {
	Name        string   `json:"name"`
	Algorithms  []string `json:"algorithms,omitempty"`
	Identifiers []string `json:"identifiers,omitempty"`
}

// Service is a CycloneDX service (an endpoint that was scanned).
type Service struct {
	BOMRef     string     `json:"bom-ref"`
	Name       string     `json:"name"`
	Endpoints  []string   `json:"endpoints,omitempty"`
	Group      string     `json:"group,omitempty"`
	Properties []Property `json:"properties,omitempty"`
}

// Dependency is bom.dependencies[]: ref depends on dependsOn.
type Dependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// Property is a name/value pair.
type Property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// NewBOM returns an empty CycloneDX 1.6 document with a random serial
// number, the timestamp and the generating tool.
func NewBOM(now time.Time, tool, toolVersion string) *BOM {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return &BOM{
		BOMFormat:    "CycloneDX",
		SpecVersion:  "1.6",
		SerialNumber: fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]),
		Version:      1,
		Metadata: BOMMetadata{
			Timestamp: now.UTC().Format(time.RFC3339),
			Tools:     &BOMTools{Components: []Component{{Type: "application", Name: tool, Version: toolVersion}}},
		},
		Components: []Component{},
	}
}
