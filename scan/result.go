package scan

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/pqtls/pqtls"
)

// Schema is the value of the "schema" field of the JSON report.
const Schema = "pqtls.scan/v1"

// Verdict is the post-quantum readiness of one endpoint.
type Verdict string

// Verdicts, from best to worst, then the ones that say the scan could not
// tell.
const (
	// VerdictPQReady: a default modern client (Go crypto/tls, default
	// settings) negotiates a hybrid (or pure ML-KEM) group.
	VerdictPQReady Verdict = "pq_ready"
	// VerdictPQCapable: the server supports a hybrid or ML-KEM group but a
	// default modern client still gets a classical one (server preference),
	// or cannot connect at all (ML-KEM-only server).
	VerdictPQCapable Verdict = "pq_capable"
	// VerdictClassical: TLS 1.3 with classical groups only (obsolete Kyber
	// drafts do not count).
	VerdictClassical Verdict = "classical"
	// VerdictTLS12Only: no TLS 1.3, so no hybrid key exchange is possible.
	VerdictTLS12Only Verdict = "tls12_only"
	// VerdictNoTLS: the service answered but offers no TLS (PostgreSQL 'N',
	// SMTP without STARTTLS) or accepted no TLS version we offered.
	VerdictNoTLS Verdict = "no_tls"
	// VerdictUnreachable: connection refused or no route.
	VerdictUnreachable Verdict = "unreachable"
	// VerdictTimeout: no answer within the timeout.
	VerdictTimeout Verdict = "timeout"
	// VerdictReset: the connection was reset or closed during the handshake.
	VerdictReset Verdict = "reset"
	// VerdictNotTLS: the endpoint answered with something that is not TLS
	// (HTTP, SSH, random bytes) or not the expected preamble protocol.
	VerdictNotTLS Verdict = "not_tls"
)

// Verdicts lists every verdict in report order.
var Verdicts = []Verdict{VerdictPQReady, VerdictPQCapable, VerdictClassical, VerdictTLS12Only, VerdictNoTLS, VerdictNotTLS, VerdictReset, VerdictTimeout, VerdictUnreachable}

// Scanned reports whether the verdict describes a TLS endpoint that was
// actually assessed (not an error).
func (v Verdict) Scanned() bool {
	switch v {
	case VerdictPQReady, VerdictPQCapable, VerdictClassical, VerdictTLS12Only, VerdictNoTLS:
		return true
	}
	return false
}

// dialError marks a failure to connect (as opposed to a failure after).
type dialError struct{ err error }

func (e *dialError) Error() string { return "connect: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// classify maps an error of the first connection to an error verdict; ok
// is false for TLS-level refusals (alerts...) after which the scan goes on.
func classify(err error) (v Verdict, reason string, final bool) {
	var de *dialError
	var ne net.Error
	var pe *PreambleError
	switch {
	case errors.Is(err, ErrNoTLS):
		return VerdictNoTLS, "starttls_refused", true
	case errors.As(err, &pe):
		return VerdictNotTLS, "unexpected_preamble_answer", true
	case errors.As(err, &de):
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return VerdictTimeout, "connect_timeout", true
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return VerdictUnreachable, "connection_refused", true
		}
		return VerdictUnreachable, "connect_failed", true
	}
	switch r := pqtls.ErrorReason(err); r {
	case pqtls.ReasonTimeout:
		return VerdictTimeout, r, true
	case pqtls.ReasonReset, pqtls.ReasonEOF:
		return VerdictReset, r, true
	case pqtls.ReasonNotTLS:
		return VerdictNotTLS, r, true
	case pqtls.ReasonCanceled:
		return VerdictTimeout, r, true
	default:
		return "", r, false
	}
}

// Result is the scan of one endpoint. Its JSON form is the "endpoints" array
// element of schema pqtls.scan/v1 (see docs/SCAN.md).
type Result struct {
	Target   Target   `json:"target"`
	Address  string   `json:"address"`
	StartTLS Protocol `json:"starttls"`
	Verdict  Verdict  `json:"verdict"`
	// Reason explains an error verdict (one of pqtls.ErrorReason values or
	// a preamble explanation) and, for assessed endpoints, the key fact.
	Reason string `json:"reason"`
	// Error is the underlying error text of an error verdict.
	Error string `json:"error,omitempty"`
	// Versions lists the TLS versions the server accepted ("TLS 1.3"...).
	Versions []string `json:"versions"`
	// DefaultClient is what a default Go client negotiates.
	DefaultClient *Handshake `json:"default_client,omitempty"`
	// Groups lists every TLS 1.3 group the server accepts, in server
	// preference order (empty when enumeration is off).
	Groups []GroupResult `json:"groups"`
	// ServerPreference is the order in which the server selected groups
	// when offered all of them ("server order"); GroupOrder tells whether
	// it follows the server's or the client's order.
	ServerPreference []string `json:"server_preference"`
	// GroupOrder is "server" (the server picks by its own preference),
	// "client" (it follows the client's list), or "" when not determined.
	GroupOrder string `json:"group_order,omitempty"`
	// TLS12Curves lists the ECDHE curves of TLS 1.2 in server preference
	// order.
	TLS12Curves []string `json:"tls12_curves"`
	// Certificates is the chain the server sent, leaf first.
	Certificates []CertInfo `json:"certificates"`
	// ChainVerified reports whether the chain verifies for ServerName
	// against the CA pool (system roots unless --ca).
	ChainVerified bool   `json:"chain_verified"`
	VerifyError   string `json:"verify_error,omitempty"`
	// MLDSA says whether the server can authenticate with ML-DSA and
	// lists its ML-DSA chains; absent when enumeration is off.
	MLDSA *MLDSAAuth `json:"ml_dsa_auth,omitempty"`
	// CNSA2 is the CNSA 2.0 readiness verdict dimension.
	CNSA2 CNSA2 `json:"cnsa2"`
	// Notes are human findings (draft Kyber groups, RSA key exchange,
	// signatures not post-quantum...).
	Notes []string `json:"notes"`
	// Priority is the harvest-now-decrypt-later ranking.
	Priority Priority `json:"priority"`
	// Connections is the number of TCP connections the scan of this
	// endpoint opened.
	Connections int `json:"connections"`
	// DurationMS is the wall time of the scan of this endpoint.
	DurationMS float64 `json:"duration_ms"`
	// ScannedAt is when the scan of this endpoint started (UTC).
	ScannedAt time.Time `json:"scanned_at"`
	// Source names the report an endpoint of a merged report came from
	// (pqtls scan merge); absent otherwise.
	Source string `json:"source,omitempty"`
	// ProbeErrors lists probes that failed for reasons other than the
	// server declining (timeouts mid-scan...): their answers are unknown.
	ProbeErrors []string `json:"probe_errors,omitempty"`
}

// Handshake is the outcome of one full handshake.
type Handshake struct {
	Version     string  `json:"version"`
	Group       string  `json:"group"`
	GroupID     uint16  `json:"group_id"`
	GroupKind   string  `json:"group_kind"`
	HelloRetry  bool    `json:"hello_retry"`
	CipherSuite string  `json:"cipher_suite"`
	ALPN        string  `json:"alpn"`
	DurationMS  float64 `json:"duration_ms"`
	Error       string  `json:"error,omitempty"`
}

// GroupResult is one TLS 1.3 group the server accepts.
type GroupResult struct {
	Name string `json:"name"`
	ID   uint16 `json:"id"`
	Kind string `json:"kind"`
	// Rank is the 1-based position in the server's preference.
	Rank int `json:"rank"`
	// HelloRetry: the server answered a ClientHello with no key share by a
	// HelloRetryRequest selecting this group (RFC 8446 HRR random checked).
	HelloRetry bool `json:"hello_retry"`
	// Confirmed: a full handshake (Go-supported groups) or a second
	// ClientHello with a key share for the group got a ServerHello with it.
	// nil when not attempted.
	Confirmed *bool `json:"confirmed"`
	// ConfirmError says why confirmation failed.
	ConfirmError string `json:"confirm_error,omitempty"`
}

// CertInfo describes one certificate of the chain.
type CertInfo struct {
	Subject string   `json:"subject"`
	Issuer  string   `json:"issuer"`
	SANs    []string `json:"sans"`
	KeyType string   `json:"key_type"`
	KeyBits int      `json:"key_bits"`
	// SignatureAlgorithm is the algorithm the issuer signed with:
	// "ML-DSA-44", "ML-DSA-65", "ML-DSA-87" (named from the OID on every Go
	// version), crypto/x509's name for the classical ones
	// ("ECDSA-SHA256", "SHA256-RSA", "Ed25519"...), else "OID <dotted>".
	SignatureAlgorithm string `json:"signature_algorithm"`
	// PublicKeyAlgorithm is the subject's key: "ML-DSA-44/65/87",
	// "ECDSA P-256", "ECDSA P-384", "RSA-<bits>", "Ed25519", else
	// "OID <dotted>".
	PublicKeyAlgorithm string    `json:"public_key_algorithm"`
	NotBefore          time.Time `json:"not_before"`
	NotAfter           time.Time `json:"not_after"`
	SerialNumber       string    `json:"serial"`
	SHA256             string    `json:"sha256"`
	// PostQuantumSignature is true for an ML-DSA signature, false for every
	// classical one (all of today's WebPKI): classical authentication
	// matters less than key exchange for harvest-now-decrypt-later.
	PostQuantumSignature bool `json:"post_quantum_signature"`
}

// Priority ranks an endpoint for harvest-now-decrypt-later migration.
type Priority struct {
	// Score is 0..100 (higher = migrate first).
	Score int `json:"score"`
	// Level is critical, high, medium, low, none or unknown.
	Level string `json:"level"`
	// Rationale explains the score in one sentence.
	Rationale string `json:"rationale"`
}

// Broken reports whether the server selected the group in a
// HelloRetryRequest but a handshake with it failed (confirmed false): it is
// listed for diagnosis but never counted as support (verdict, summary,
// table, CBOM).
func (g GroupResult) Broken() bool { return g.Confirmed != nil && !*g.Confirmed }

// HasGroup reports whether the server accepted the group in TLS 1.3.
func (r *Result) HasGroup(id tls.CurveID) bool {
	for _, g := range r.Groups {
		if g.ID == uint16(id) {
			return true
		}
	}
	return false
}

// SupportedGroups returns every group the server accepts: the TLS 1.3
// groups (preference order) except broken ones, then the TLS 1.2 curves the
// registry knows. It is what the exporter's enumeration reports.
func (r *Result) SupportedGroups() []tls.CurveID {
	var out []tls.CurveID
	for _, g := range r.Groups {
		if !g.Broken() {
			out = append(out, tls.CurveID(g.ID))
		}
	}
	for _, name := range r.TLS12Curves {
		if g, err := pqtls.ParseGroup(name); err == nil {
			out = append(out, g.ID)
		}
	}
	return out
}

// GroupNames returns the names of the accepted groups, in preference order.
func (r *Result) GroupNames() []string {
	out := make([]string, len(r.Groups))
	for i, g := range r.Groups {
		out[i] = g.Name
	}
	return out
}

func handshakeOf(cs tls.ConnectionState, d time.Duration) *Handshake {
	h := &Handshake{
		Version:     pqtls.VersionName(cs.Version),
		CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ALPN:        cs.NegotiatedProtocol,
		HelloRetry:  cs.HelloRetryRequest,
		DurationMS:  ms(d),
	}
	if cs.CurveID != 0 {
		h.Group = pqtls.GroupName(cs.CurveID)
		h.GroupID = uint16(cs.CurveID)
		h.GroupKind = string(pqtls.GroupKind(cs.CurveID))
	} else {
		h.Group, h.GroupKind = "none (RSA key exchange)", "none"
	}
	return h
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func hex16(v uint16) string { return fmt.Sprintf("0x%04X", v) }
