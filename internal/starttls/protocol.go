package starttls

import (
	"errors"
	"fmt"
	"strings"
)

// Protocol names the clear-text preamble that precedes TLS on an endpoint.
type Protocol string

// Preamble protocols. Auto picks one by well-known port; None is implicit
// TLS (HTTPS, Redis, Kafka, AMQPS, gRPC...).
const (
	Auto     Protocol = "auto"
	None     Protocol = "none"
	Postgres Protocol = "postgres"
	// PostgresDirect is PostgreSQL 17 direct TLS: no SSLRequest, ALPN
	// "postgresql" is mandatory.
	PostgresDirect Protocol = "postgres-direct"
	MySQL          Protocol = "mysql"
	SMTP           Protocol = "smtp"
	IMAP           Protocol = "imap"
	POP3           Protocol = "pop3"
	FTP            Protocol = "ftp"
	LDAP           Protocol = "ldap"
	XMPP           Protocol = "xmpp"
)

// All lists every accepted protocol name, in the order shown to users.
var All = []Protocol{Auto, None, Postgres, PostgresDirect, MySQL, SMTP, IMAP, POP3, FTP, LDAP, XMPP}

// aliases maps other spellings (URL schemes, service names) to a protocol.
var aliases = map[string]Protocol{
	"": Auto, "tls": None, "https": None, "implicit": None, "redis": None, "rediss": None,
	"kafka": None, "amqps": None, "grpc": None, "grpcs": None, "http": None,
	"postgresql": Postgres, "pg": Postgres, "postgresql-direct": PostgresDirect, "pg-direct": PostgresDirect,
	"submission": SMTP, "ldap-starttls": LDAP, "xmpp-client": XMPP,
}

// Parse parses a --starttls value or a target scheme ("" is Auto).
func Parse(s string) (Protocol, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	if p, ok := aliases[k]; ok {
		return p, nil
	}
	for _, p := range All {
		if string(p) == k {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown protocol %q: use one of %s (or tls/https for implicit TLS)", s, strings.Join(Names(All), ", "))
}

// Names returns the protocol names of ps as strings.
func Names(ps []Protocol) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	return names
}

var wellKnownPorts = map[int]Protocol{
	5432: Postgres, 3306: MySQL, 25: SMTP, 587: SMTP, 143: IMAP, 110: POP3,
	21: FTP, 389: LDAP, 5222: XMPP,
}

// DefaultPort returns the well-known port of a preamble protocol.
func (p Protocol) DefaultPort() (int, bool) {
	for port, q := range wellKnownPorts {
		if q == p && port != 25 {
			return port, true
		}
	}
	return 0, false
}

// Resolve turns Auto (or "") into the protocol of a well-known port (or
// None).
func (p Protocol) Resolve(port int) Protocol {
	if p == "" || p == Auto {
		if q, ok := wellKnownPorts[port]; ok {
			return q
		}
		return None
	}
	return p
}

// ALPN returns the ALPN protocols the preamble requires (postgres-direct).
func (p Protocol) ALPN() []string {
	if p == PostgresDirect {
		return []string{"postgresql"}
	}
	return nil
}

// HasPreamble reports whether p sends clear-text bytes before TLS (false
// for Auto, None and PostgresDirect).
func (p Protocol) HasPreamble() bool {
	_, ok := preambles[p]
	return ok
}

// ErrRefused is matched (errors.Is) by every error of a server that
// answers its protocol but does not offer TLS (PostgreSQL 'N', SMTP
// without STARTTLS, ...).
var ErrRefused = errors.New("server does not offer TLS")

// RefusedError wraps ErrRefused with what the server said.
type RefusedError struct {
	Protocol Protocol
	Detail   string
}

// Error says which protocol refused TLS and how.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s: server does not offer TLS (%s)", e.Protocol, e.Detail)
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// PreambleError reports an endpoint whose clear-text protocol was not what
// the preamble expected (e.g. an HTTP server on the PostgreSQL port).
type PreambleError struct {
	Protocol Protocol
	Detail   string
}

// Error describes the unexpected answer and what to check.
func (e *PreambleError) Error() string {
	return fmt.Sprintf("%s preamble: %s (is this really a %s server? set --starttls)", e.Protocol, e.Detail, e.Protocol)
}

// Reason returns "not_tls" (pqtls.Reasoner): the endpoint did not speak the
// expected protocol.
func (e *PreambleError) Reason() string { return "not_tls" }
