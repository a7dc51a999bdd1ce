package pqtls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
)

// Handshake error reasons: the bounded set of values of the `reason` label of
// tls_handshake_errors_total.
const (
	ReasonTimeout             = "timeout"
	ReasonEOF                 = "eof"
	ReasonReset               = "reset"
	ReasonNotTLS              = "not_tls"
	ReasonProtocolVersion     = "protocol_version"
	ReasonNoSharedGroup       = "no_shared_group"
	ReasonBadCertificate      = "bad_certificate"
	ReasonUnknownCA           = "unknown_ca"
	ReasonExpiredCertificate  = "expired_certificate"
	ReasonPolicyClassicalPeer = "policy_classical_peer"
	ReasonPolicyClassicalAuth = "policy_classical_auth"
	ReasonACLDenied           = "acl_denied"
	ReasonCanceled            = "canceled"
	ReasonOther               = "other"
	// Reasons of handshakes seen passively by pqtls observe (RoleObserved).
	ReasonNoServerHello   = "no_server_hello"
	ReasonSnaplen         = "snaplen"
	ReasonMissingSegments = "missing_segments"
	ReasonTooLarge        = "too_large"
	// Alerts received from the peer are reported as "alert_" + the alert
	// name, e.g. alert_handshake_failure; see AlertReasons.
)

// AlertReasons lists the alert_* reasons, one per TLS alert Go can report.
var AlertReasons = func() []string {
	var out []string
	for _, a := range alertNames {
		out = append(out, "alert_"+a.name)
	}
	return out
}()

// reasons is the whole bounded set of reason label values, in the order
// docs/METRICS.md lists them.
var reasons = append([]string{ReasonTimeout, ReasonEOF, ReasonReset, ReasonNotTLS, ReasonProtocolVersion,
	ReasonNoSharedGroup, ReasonBadCertificate, ReasonUnknownCA, ReasonExpiredCertificate,
	ReasonPolicyClassicalPeer, ReasonPolicyClassicalAuth, ReasonACLDenied, ReasonCanceled, ReasonOther,
	ReasonNoServerHello, ReasonSnaplen, ReasonMissingSegments, ReasonTooLarge}, AlertReasons...)

var knownReasons = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range reasons {
		m[r] = true
	}
	return m
}()

// Reasons returns every value of the `reason` label of
// tls_handshake_errors_total, alert_* reasons included, as a fresh slice:
// the one list the docs tests and every tool's classifier check against.
func Reasons() []string { return slices.Clone(reasons) }

// KnownReason reports whether s is one of the bounded reason label values:
// a Reason* constant or one of AlertReasons. Metrics records any other value
// as ReasonOther, so the label set stays bounded whatever an error says.
func KnownReason(s string) bool { return knownReasons[s] }

// alertNames maps the text Go's crypto/tls prints for an alert to its RFC 8446
// section 6 name.
var alertNames = []struct{ text, name string }{
	{"close notify", "close_notify"},
	{"unexpected message", "unexpected_message"},
	{"bad record MAC", "bad_record_mac"},
	{"decryption failed", "decryption_failed"},
	{"record overflow", "record_overflow"},
	{"decompression failure", "decompression_failure"},
	{"handshake failure", "handshake_failure"},
	{"bad certificate", "bad_certificate"},
	{"unsupported certificate", "unsupported_certificate"},
	{"revoked certificate", "certificate_revoked"},
	{"expired certificate", "certificate_expired"},
	{"unknown certificate", "certificate_unknown"},
	{"illegal parameter", "illegal_parameter"},
	{"unknown certificate authority", "unknown_ca"},
	{"access denied", "access_denied"},
	{"error decoding message", "decode_error"},
	{"error decrypting message", "decrypt_error"},
	{"protocol version not supported", "protocol_version"},
	{"insufficient security level", "insufficient_security"},
	{"internal error", "internal_error"},
	{"inappropriate fallback", "inappropriate_fallback"},
	{"user canceled", "user_canceled"},
	{"no renegotiation", "no_renegotiation"},
	{"missing extension", "missing_extension"},
	{"unsupported extension", "unsupported_extension"},
	{"unrecognized name", "unrecognized_name"},
	{"bad certificate status response", "bad_certificate_status_response"},
	{"unknown PSK identity", "unknown_psk_identity"},
	{"certificate required", "certificate_required"},
	{"no application protocol", "no_application_protocol"},
	{"ECH required", "ech_required"},
}

// Reasoner is implemented by errors that carry their own handshake error
// reason (PolicyError, the tunnel's ACL error). The reason must be one of the
// Reason* constants (see KnownReason); ErrorReason reports any other value as
// ReasonOther.
type Reasoner interface {
	Reason() string
}

// PolicyError reports a peer refused by the key-exchange policy: a
// classical-only peer facing a require-mode endpoint.
type PolicyError struct {
	// Role is the side that refused: RoleServer or RoleClient.
	Role Role
	// Peer is the remote address.
	Peer string
	// ServerName is the SNI (server side) or the name dialed (client side).
	ServerName string
	// Offered is what the peer offered (server side: the client's
	// supported_groups) or, on the client side, the group the server selects
	// when offered every group Go supports, when pqtls could find out (see
	// Dialer).
	Offered []tls.CurveID
	// Required is the hybrid groups the policy accepts.
	Required []tls.CurveID
	// Err is the underlying handshake error, if any.
	Err error
}

// Reason returns ReasonPolicyClassicalPeer.
func (e *PolicyError) Reason() string { return ReasonPolicyClassicalPeer }

// Unwrap returns the underlying handshake error.
func (e *PolicyError) Unwrap() error { return e.Err }

// Error says who was refused, what it offered and what to do about it.
func (e *PolicyError) Error() string {
	req := groupNames2(e.Required)
	switch e.Role {
	case RoleServer:
		return fmt.Sprintf("pqtls: refused classical-only client %s (SNI %q): it offered %s, policy require accepts only %s; upgrade the client to a hybrid-capable TLS stack (Go >= 1.24, OpenSSL >= 3.5, BoringSSL) or set policy prefer on this listener",
			e.Peer, e.ServerName, groupNames2(e.Offered), req)
	default:
		switch {
		case len(e.Offered) == 1 && IsHybrid(e.Offered[0]):
			return fmt.Sprintf("pqtls: server %s (%s) accepts none of the hybrid groups policy require offered (%s), but it selects %s when offered every group: add %s to this client's groups",
				e.ServerName, e.Peer, req, GroupName(e.Offered[0]), GroupName(e.Offered[0]))
		case len(e.Offered) == 1:
			return fmt.Sprintf("pqtls: server %s (%s) is classical-only: it refused the hybrid groups policy require offered (%s) and selects %s when offered every group; enable X25519MLKEM768 on the server (see 'pqtls scan %s') or use policy prefer for this peer",
				e.ServerName, e.Peer, req, GroupName(e.Offered[0]), e.Peer)
		}
		return fmt.Sprintf("pqtls: server %s (%s) refused the hybrid groups policy require offered (%s); check what it supports with 'pqtls scan %s', enable X25519MLKEM768 on it, or use policy prefer for this peer",
			e.ServerName, e.Peer, req, e.Peer)
	}
}

func groupNames2(ids []tls.CurveID) string { return joinNames(ids, GroupName, "no groups") }

// joinNames names each id with name and joins them with ", "; none is the
// text for an empty list.
func joinNames[T any](ids []T, name func(T) string, none string) string {
	if len(ids) == 0 {
		return none
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = name(id)
	}
	return strings.Join(names, ", ")
}

// ErrorReason classifies a handshake error into the bounded set of reasons
// used as the `reason` metric label.
func ErrorReason(err error) string {
	if err == nil {
		return ""
	}
	var r Reasoner
	if errors.As(err, &r) {
		if reason := r.Reason(); KnownReason(reason) {
			return reason
		}
		return ReasonOther
	}
	if errors.Is(err, context.Canceled) {
		// Before the timeout checks: a cancelled dial or request (an
		// http.Client request whose context ends) is canceled, not timeout.
		return ReasonCanceled
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "remote error" {
		msg := strings.TrimPrefix(opErr.Err.Error(), "tls: ")
		for _, a := range alertNames {
			if msg == a.text {
				return "alert_" + a.name
			}
		}
		return ReasonOther
	}
	var recErr tls.RecordHeaderError
	if errors.As(err, &recErr) {
		return ReasonNotTLS
	}
	var unknownCA x509.UnknownAuthorityError
	if errors.As(err, &unknownCA) {
		return ReasonUnknownCA
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		if invalid.Reason == x509.Expired {
			return ReasonExpiredCertificate
		}
		return ReasonBadCertificate
	}
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return ReasonBadCertificate
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return ReasonBadCertificate
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ReasonTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReasonTimeout
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonEOF
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ReasonReset
	case errors.Is(err, net.ErrClosed):
		return ReasonCanceled
	}
	return reasonFromText(err.Error())
}

// reasonFromText classifies an error message: the last resort of
// ErrorReason, and all that HTTPServerErrorLog has (net/http logs text).
func reasonFromText(msg string) string {
	if alert, ok := strings.CutPrefix(msg, "remote error: tls: "); ok {
		for _, a := range alertNames {
			if alert == a.text {
				return "alert_" + a.name
			}
		}
		return ReasonOther
	}
	switch {
	case msg == "EOF", strings.HasSuffix(msg, ": EOF"), strings.HasSuffix(msg, "unexpected EOF"):
		return ReasonEOF
	case strings.Contains(msg, "connection reset by peer"), strings.Contains(msg, "broken pipe"):
		return ReasonReset
	case strings.Contains(msg, "i/o timeout"):
		return ReasonTimeout
	case strings.Contains(msg, "use of closed network connection"):
		return ReasonCanceled
	case strings.Contains(msg, "client sent an HTTP request to an HTTPS server"):
		return ReasonNotTLS
	}
	switch {
	case strings.Contains(msg, "context canceled"):
		return ReasonCanceled
	case strings.Contains(msg, "context deadline exceeded"):
		return ReasonTimeout
	case strings.Contains(msg, "no ECDHE curve supported"), strings.Contains(msg, "no key exchanges supported"), strings.Contains(msg, "no mutually supported"), strings.Contains(msg, "no supported key exchange"), strings.Contains(msg, "CurvePreferences includes unsupported"):
		return ReasonNoSharedGroup
	case strings.Contains(msg, "protocol version"), strings.Contains(msg, "unsupported versions"):
		return ReasonProtocolVersion
	case strings.Contains(msg, "client didn't provide a certificate"), strings.Contains(msg, "certificate required"), strings.Contains(msg, "failed to verify certificate"):
		return ReasonBadCertificate
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return ReasonNotTLS
	}
	return ReasonOther
}
