package tunnel

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pqtls/pqtls"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// ACLError reports a peer certificate that no ACL entry matches. Its reason
// is pqtls.ReasonACLDenied, so tls_handshake_errors_total counts it as
// acl_denied; crypto/tls sends the peer a bad_certificate alert.
type ACLError struct {
	// Identity names the peer: its URI SANs, DNS SANs, CN and OUs.
	Identity string
	// Why says what is wrong when it is not only a missing ACL entry (an
	// invalid SPIFFE ID, several SPIFFE IDs).
	Why string
	// Role is the side that refused.
	Role pqtls.Role
}

// Reason returns pqtls.ReasonACLDenied.
func (e *ACLError) Reason() string { return pqtls.ReasonACLDenied }

// Error names the identity and says how to allow it.
func (e *ACLError) Error() string {
	if e.Why != "" {
		return fmt.Sprintf("tunnel: peer identity %s refused: %s", e.Identity, e.Why)
	}
	if e.Role == pqtls.RoleClient {
		return fmt.Sprintf("tunnel: server identity %s is not in the verify list: add it to verify (--verify-uri/--verify-dns) if it is legitimate", e.Identity)
	}
	return fmt.Sprintf("tunnel: client identity %s denied by the allow list: add it to allow (--allow-uri/--allow-dns/--allow-cn/--allow-ou) if it should connect", e.Identity)
}

// Match reports whether the certificate is accepted: Identify returns no
// error for it.
func (a ACL) Match(cert *x509.Certificate) bool {
	_, err := a.Identify(cert)
	return err == nil
}

// Identify is the ACL decision and the identity it approved, computed
// together so that what the tunnel reports (the identity= log field, the
// PROXY v2 identity TLV) is the very value that was checked. URI SANs are
// tried first, then DNS SANs, the CN and the OUs; the first name that
// matches an entry is returned. With an empty ACL the identity is the SPIFFE
// ID, else the first URI SAN, else the first DNS SAN, else the CN.
//
// A certificate is refused whatever the ACL says when its SPIFFE ID is not
// valid per the SPIFFE ID specification (checked with go-spiffe's spiffeid:
// lowercase trust domain, no empty, "." or ".." segments, no percent-encoding)
// or when it carries more than one SPIFFE ID (an X.509-SVID has exactly
// one).
func (a ACL) Identify(cert *x509.Certificate) (string, error) {
	spiffe, others, err := certURIs(cert)
	if err != nil {
		return "", err
	}
	if a.Empty() {
		switch {
		case len(spiffe) > 0:
			return spiffe[0], nil
		case len(others) > 0:
			return others[0], nil
		case len(cert.DNSNames) > 0:
			return cert.DNSNames[0], nil
		}
		return cert.Subject.CommonName, nil
	}
	for _, u := range append(spiffe, others...) {
		for _, p := range a.URI {
			if matchURI(p, u) {
				return u, nil
			}
		}
	}
	for _, d := range cert.DNSNames {
		for _, p := range a.DNS {
			if matchDNS(p, d) {
				return d, nil
			}
		}
	}
	if cert.Subject.CommonName != "" && slices.Contains(a.CN, cert.Subject.CommonName) {
		return cert.Subject.CommonName, nil
	}
	for _, ou := range cert.Subject.OrganizationalUnit {
		if slices.Contains(a.OU, ou) {
			return ou, nil
		}
	}
	return "", errNoMatch
}

// errNoMatch: no ACL entry matches the certificate.
var errNoMatch = errors.New("no ACL entry matches")

// certURIs returns the certificate's SPIFFE ID (at most one, validated) and
// its other URI SANs.
func certURIs(cert *x509.Certificate) (spiffe, others []string, err error) {
	for _, u := range cert.URIs {
		if !strings.EqualFold(u.Scheme, "spiffe") {
			others = append(others, u.String())
			continue
		}
		id, err := spiffeid.FromURI(u)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid SPIFFE ID %q: %v", u.String(), err)
		}
		spiffe = append(spiffe, id.String())
	}
	if len(spiffe) > 1 {
		return nil, nil, fmt.Errorf("certificate carries %d SPIFFE IDs; an X.509-SVID has exactly one", len(spiffe))
	}
	return spiffe, others, nil
}

// matchURI matches a URI against a pattern: segments separated by "/" are
// compared one by one, "*" matches exactly one non-empty segment and a final
// "**" matches one or more remaining segments. Scheme and authority
// ("spiffe://trust.domain") must match exactly.
func matchURI(pattern, uri string) bool {
	ps := strings.Split(pattern, "/")
	us := strings.Split(uri, "/")
	for i, p := range ps {
		if p == "**" && i == len(ps)-1 {
			return len(us) > i && !slices.ContainsFunc(us[i:], func(s string) bool { return !wildcardSegment(s) })
		}
		if i >= len(us) {
			return false
		}
		if p == "*" && i >= 3 { // never a wildcard for scheme or authority
			if !wildcardSegment(us[i]) {
				return false
			}
			continue
		}
		if p != us[i] {
			return false
		}
	}
	return len(ps) == len(us)
}

// wildcardSegment reports whether a wildcard may match the segment: never
// an empty, "." or ".." segment or a percent-encoded one (for URIs that are
// not SPIFFE IDs, which are validated before matching).
func wildcardSegment(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.Contains(s, "%")
}

// matchDNS matches a DNS name case-insensitively; "*.example.com" matches
// exactly one extra label.
func matchDNS(pattern, name string) bool {
	pattern, name = strings.ToLower(strings.TrimSuffix(pattern, ".")), strings.ToLower(strings.TrimSuffix(name, "."))
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		label, tail, found := strings.Cut(name, ".")
		return found && label != "" && tail == rest
	}
	return pattern == name
}

// describeCert names a certificate for logs and ACL errors.
func describeCert(c *x509.Certificate) string {
	var parts []string
	for _, u := range c.URIs {
		parts = append(parts, "URI:"+u.String())
	}
	for _, d := range c.DNSNames {
		parts = append(parts, "DNS:"+d)
	}
	if c.Subject.CommonName != "" {
		parts = append(parts, "CN="+c.Subject.CommonName)
	}
	for _, ou := range c.Subject.OrganizationalUnit {
		parts = append(parts, "OU="+ou)
	}
	if len(parts) == 0 {
		return "(certificate with no names)"
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// refusal turns an Identify error into the ACLError the handshake returns.
func refusal(role pqtls.Role, cert *x509.Certificate, err error) *ACLError {
	e := &ACLError{Identity: describeCert(cert), Role: role}
	if !errors.Is(err, errNoMatch) {
		e.Why = err.Error()
	}
	return e
}
