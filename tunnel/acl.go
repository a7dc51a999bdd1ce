package tunnel

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/pqtls/pqtls"
)

// ACLError reports a peer certificate that no ACL entry matches. Its reason
// is pqtls.ReasonACLDenied, so tls_handshake_errors_total counts it as
// acl_denied; crypto/tls sends the peer a bad_certificate alert.
type ACLError struct {
	// Identity names the peer: its URI SANs, DNS SANs, CN and OUs.
	Identity string
	// Role is the side that refused.
	Role pqtls.Role
}

// Reason returns pqtls.ReasonACLDenied.
func (e *ACLError) Reason() string { return pqtls.ReasonACLDenied }

// Error names the identity and says how to allow it.
func (e *ACLError) Error() string {
	if e.Role == pqtls.RoleClient {
		return fmt.Sprintf("tunnel: server identity %s is not in the verify list: add it to verify (--verify-uri/--verify-dns) if it is legitimate", e.Identity)
	}
	return fmt.Sprintf("tunnel: client identity %s denied by the allow list: add it to allow (--allow-uri/--allow-dns/--allow-cn/--allow-ou) if it should connect", e.Identity)
}

// Match reports whether the certificate matches any ACL entry. An empty ACL
// matches every certificate.
func (a ACL) Match(cert *x509.Certificate) bool {
	if a.Empty() {
		return true
	}
	for _, u := range cert.URIs {
		for _, p := range a.URI {
			if matchURI(p, u.String()) {
				return true
			}
		}
	}
	for _, d := range cert.DNSNames {
		for _, p := range a.DNS {
			if matchDNS(p, d) {
				return true
			}
		}
	}
	if cert.Subject.CommonName != "" && slices.Contains(a.CN, cert.Subject.CommonName) {
		return true
	}
	for _, ou := range cert.Subject.OrganizationalUnit {
		if slices.Contains(a.OU, ou) {
			return true
		}
	}
	return false
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
			return len(us) > i && us[i] != ""
		}
		if i >= len(us) {
			return false
		}
		if p == "*" && i >= 3 { // never a wildcard for scheme or authority
			if us[i] == "" {
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
