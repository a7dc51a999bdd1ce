package pqtls

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// AuthMode is the authentication policy dimension, next to the key-exchange
// Mode: which certificate chains an endpoint presents first and accepts.
type AuthMode string

// Authentication modes. See docs/LIBRARY.md, "Post-quantum authentication".
const (
	// AuthAny accepts any chain crypto/tls verifies. It is the default.
	AuthAny AuthMode = "any"
	// AuthPreferPQ puts the ML-DSA certificates of Base.Certificates first:
	// Go presents the first certificate compatible with the peer's
	// signature_algorithms, so a peer that supports ML-DSA gets it and
	// others get the classical one. Needs Go 1.27.
	AuthPreferPQ AuthMode = "prefer-pq"
	// AuthRequirePQ refuses a peer whose certificate chain is not
	// ML-DSA-signed (an *AuthPolicyError). Needs Go 1.27.
	AuthRequirePQ AuthMode = "require-pq"
	// AuthCNSA2 is the CNSA 2.0 preset: ML-KEM-1024 key exchange (MLKEM1024,
	// or the transitional SecP384r1MLKEM1024 hybrid) and an ML-DSA-87 chain;
	// anything else is refused with an *AuthPolicyError naming what the
	// peer lacks. The cipher suite is reported, not enforced. Needs Go 1.27.
	AuthCNSA2 AuthMode = "cnsa2"
)

var authModes = []AuthMode{AuthAny, AuthPreferPQ, AuthRequirePQ, AuthCNSA2}

// ParseAuth parses an authentication mode: trimmed and case-insensitive;
// the empty string is AuthAny. An unknown name is a *ConfigError listing the
// valid ones; a mode that needs ML-DSA in a binary built with Go older than
// 1.27 is a *ConfigError too. It is the one parser of auth mode strings.
func ParseAuth(s string) (AuthMode, error) {
	a := AuthMode(strings.ToLower(strings.TrimSpace(s)))
	if a == "" {
		return AuthAny, nil
	}
	if !slices.Contains(authModes, a) {
		return "", configErrorf("auth", "unknown authentication mode %q: use any (default), prefer-pq, require-pq or cnsa2", s)
	}
	if a != AuthAny && !mldsaSupported {
		return "", configErrorf("auth", "authentication mode %s needs ML-DSA certificates, which needs pqtls built with Go 1.27 or later: rebuild with Go >= 1.27 (GOTOOLCHAIN=go1.27.3) or use auth any", a)
	}
	return a, nil
}

// Authentication kinds: the `kind` label of tls_handshake_auth_total.
const (
	AuthKindClassical = "classical"
	AuthKindMLDSA     = "ml-dsa"
)

// CNSA2Groups are the key-exchange groups the cnsa2 preset accepts: pure
// ML-KEM-1024 (codepoint 0x0202) first, then the transitional
// SecP384r1MLKEM1024 hybrid.
var CNSA2Groups = []tls.CurveID{0x0202, tls.SecP384r1MLKEM1024}

// AuthPolicyError reports a peer refused by the authentication policy
// (require-pq or cnsa2). RefusedByPolicy recognises it.
type AuthPolicyError struct {
	// Role is the side that refused.
	Role Role
	// Mode is the authentication mode that refused.
	Mode AuthMode
	// Peer is the remote address when known (a server refusing at
	// ClientHello time).
	Peer string
	// ServerName is the SNI.
	ServerName string
	// Lacks names what the peer lacks: "an ML-DSA-signed certificate chain",
	// "an ML-DSA-87 certificate chain" or "ML-KEM-1024 key exchange".
	Lacks string
	// Got describes what the peer presented (signature algorithms, or the
	// negotiated group).
	Got string
	// Err is the handshake error behind a refusal the client inferred
	// from the server's alert (cnsa2: no ML-KEM-1024 group in common).
	Err error
}

// Unwrap returns Err.
func (e *AuthPolicyError) Unwrap() error { return e.Err }

// cnsa2Lacks is what a cnsa2 peer without an ML-KEM-1024 group lacks.
const cnsa2Lacks = "ML-KEM-1024 key exchange (MLKEM1024, or SecP384r1MLKEM1024 as the transitional option)"

// asCNSA2Refusal turns the alert a server sends a cnsa2 client it shares no
// group with into an *AuthPolicyError naming ML-KEM-1024 key exchange (a
// Go cnsa2 client offers MLKEM1024 and SecP384r1MLKEM1024 only, and every
// signature scheme Go knows, so such an alert means no group in common).
// Otherwise it returns nil.
func asCNSA2Refusal(cfg *tls.Config, peer string, err error) error {
	if !slices.Equal(cfg.CurvePreferences, CNSA2Groups) {
		return nil
	}
	switch r := ErrorReason(err); r {
	case "alert_handshake_failure", "alert_insufficient_security", "alert_illegal_parameter", ReasonNoSharedGroup:
		return &AuthPolicyError{Role: RoleClient, Mode: AuthCNSA2, Peer: peer, ServerName: cfg.ServerName, Lacks: cnsa2Lacks,
			Got: "no group in common with the offered MLKEM1024 and SecP384r1MLKEM1024 (the server answered " + r + ")", Err: err}
	}
	return nil
}

// Reason returns ReasonPolicyClassicalAuth.
func (e *AuthPolicyError) Reason() string { return ReasonPolicyClassicalAuth }

// Error says which part the peer lacks and what to do.
func (e *AuthPolicyError) Error() string {
	peer := "server"
	if e.Role == RoleServer {
		peer = "client"
	}
	if e.Peer != "" {
		peer += " " + e.Peer
	}
	fix := "give the peer an ML-DSA certificate chain (pqtls certs dev --key-type ml-dsa-65, ml-dsa-87 for cnsa2)"
	switch {
	case strings.HasPrefix(e.Lacks, cnsa2Lacks):
		fix = "enable MLKEM1024 or SecP384r1MLKEM1024 on the peer (Go 1.27, OpenSSL 3.5)"
	case e.Role == RoleServer:
		fix = "upgrade the client to a TLS 1.3 stack with ML-DSA (Go 1.27, OpenSSL 3.5)"
	}
	return fmt.Sprintf("pqtls: refused %s (SNI %q): auth policy %s needs %s, the peer has %s; %s, or use auth prefer-pq or any for it",
		peer, e.ServerName, e.Mode, e.Lacks, e.Got, fix)
}

// authLacks names what a ClientHello lacks for a server auth mode (empty:
// nothing): require-pq needs an ML-DSA scheme in signature_algorithms,
// cnsa2 needs mldsa87 there and an ML-KEM-1024 group in supported_groups.
// A server refuses such a client at ClientHello time (serverHooks.refuse).
func authLacks(mode AuthMode, hello *tls.ClientHelloInfo) (lacks, got string) {
	if mode != AuthRequirePQ && mode != AuthCNSA2 {
		return "", ""
	}
	if !slices.Contains(hello.SupportedVersions, tls.VersionTLS13) && len(hello.SupportedVersions) > 0 {
		return "TLS 1.3 (ML-DSA exists only in TLS 1.3)", "TLS 1.2 only"
	}
	if mode == AuthCNSA2 {
		if !slices.ContainsFunc(hello.SupportedCurves, func(id tls.CurveID) bool { return slices.Contains(CNSA2Groups, id) }) {
			return cnsa2Lacks + " in supported_groups", "groups " + groupNames2(hello.SupportedCurves)
		}
		if !slices.Contains(hello.SignatureSchemes, SignatureSchemeMLDSA87) {
			return "mldsa87 in signature_algorithms (an ML-DSA-87 chain)", "signature_algorithms " + schemeNames(hello.SignatureSchemes)
		}
		return "", ""
	}
	if !slices.ContainsFunc(hello.SignatureSchemes, IsMLDSAScheme) {
		return "ML-DSA in signature_algorithms (mldsa44, mldsa65 or mldsa87)", "signature_algorithms " + schemeNames(hello.SignatureSchemes)
	}
	return "", ""
}

func schemeNames(ids []tls.SignatureScheme) string {
	return joinNames(ids, SignatureSchemeName, "none")
}

// ML-DSA public key algorithm identifiers (RFC 9881 section 2).
var mldsaOIDs = map[string]string{
	"2.16.840.1.101.3.4.3.17": "ML-DSA-44",
	"2.16.840.1.101.3.4.3.18": "ML-DSA-65",
	"2.16.840.1.101.3.4.3.19": "ML-DSA-87",
}

// MLDSAKeyParams returns "ML-DSA-44", "ML-DSA-65" or "ML-DSA-87" for a
// certificate whose public key is ML-DSA, and "" otherwise. It reads the
// algorithm identifier itself, so it works in every build (Go before 1.27
// parses such a certificate with an unknown key algorithm).
func MLDSAKeyParams(c *x509.Certificate) string {
	spki := cryptobyte.String(c.RawSubjectPublicKeyInfo)
	var inner, algo cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !spki.ReadASN1(&inner, cbasn1.SEQUENCE) || !inner.ReadASN1(&algo, cbasn1.SEQUENCE) || !algo.ReadASN1ObjectIdentifier(&oid) {
		return ""
	}
	return mldsaOIDs[oid.String()]
}

// LoadX509KeyPair is tls.LoadX509KeyPair with Leaf set, for every
// certificate file pqtls reads. In a binary built with Go older than 1.27
// an ML-DSA certificate is a *ConfigError saying it "needs pqtls built with
// Go 1.27 or later" (crypto/tls would only say it cannot parse the key).
func LoadX509KeyPair(certFile, keyFile string) (tls.Certificate, error) {
	if !mldsaSupported {
		if data, err := os.ReadFile(certFile); err == nil {
			if b, _ := pem.Decode(data); b != nil && b.Type == "CERTIFICATE" {
				if c, err := x509.ParseCertificate(b.Bytes); err == nil && MLDSAKeyParams(c) != "" {
					return tls.Certificate{}, configErrorf("cert", "certificate %s has an %s key, which needs pqtls built with Go 1.27 or later: rebuild with Go >= 1.27 (GOTOOLCHAIN=go1.27.3) or use a classical certificate", certFile, MLDSAKeyParams(c))
				}
			}
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return cert, err
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return cert, err
		}
	}
	return cert, nil
}

// checkAuth applies the authentication mode to a completed handshake as
// seen by role: require-pq and cnsa2 check the peer's chain (a server
// without client certificates checks nothing), cnsa2 also checks the group.
func checkAuth(mode AuthMode, role Role, cs tls.ConnectionState) error {
	if mode != AuthRequirePQ && mode != AuthCNSA2 {
		return nil
	}
	fail := func(lacks, got string) error {
		return &AuthPolicyError{Role: role, Mode: mode, ServerName: cs.ServerName, Lacks: lacks, Got: got}
	}
	if mode == AuthCNSA2 && !slices.Contains(CNSA2Groups, cs.CurveID) {
		return fail(cnsa2Lacks, GroupName(cs.CurveID))
	}
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	ok, got := chainIsMLDSA(cs, mode == AuthCNSA2)
	if ok {
		return nil
	}
	if mode == AuthCNSA2 {
		return fail("an ML-DSA-87 certificate chain", got)
	}
	return fail("an ML-DSA-signed certificate chain", got)
}

// AuthKind returns the kind ("classical" or "ml-dsa") of the server's
// certificate in a completed handshake seen by role, as
// tls_handshake_auth_total counts it; "" when no certificate is known.
func AuthKind(role Role, cs tls.ConnectionState) string { return authKind(role, cs) }

// authKind returns the tls_handshake_auth_total kind of a completed
// handshake: the server's certificate (the peer's leaf on the client, the
// local leaf on the server). It is empty when no certificate is known.
func authKind(role Role, cs tls.ConnectionState) string {
	if role == RoleServer {
		return localAuthKind(cs)
	}
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	if isMLDSAKey(cs.PeerCertificates[0]) {
		return AuthKindMLDSA
	}
	return AuthKindClassical
}

// applyAuth applies p.Auth to a built configuration: prefer-pq and the
// stricter modes order Certificates with ML-DSA first, require-pq and
// cnsa2 wrap VerifyConnection. The cnsa2 groups and version are set by
// applyPolicy (so a per-connection configuration gets them too).
func applyAuth(cfg *tls.Config, auth AuthMode, role Role) {
	mode, err := ParseAuth(string(auth))
	if err != nil || mode == AuthAny {
		return // Validate has already refused an invalid mode
	}
	slices.SortStableFunc(cfg.Certificates, func(a, b tls.Certificate) int {
		return boolRank(certIsMLDSA(b)) - boolRank(certIsMLDSA(a))
	})
	if mode == AuthRequirePQ || mode == AuthCNSA2 {
		next := cfg.VerifyConnection
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if err := checkAuth(mode, role, cs); err != nil {
				return err
			}
			if next != nil {
				return next(cs)
			}
			return nil
		}
	}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
