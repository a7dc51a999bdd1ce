package scan

import (
	"context"
	"net"

	"github.com/pqtls/pqtls/internal/starttls"
)

// The STARTTLS preambles live in internal/starttls (shared with canary);
// these names keep scan's API.

// Protocol names the plaintext preamble that precedes TLS on an endpoint
// (methods DefaultPort, Resolve, ALPN, HasPreamble).
type Protocol = starttls.Protocol

// Preamble protocols. ProtoAuto picks one by well-known port; ProtoNone is
// implicit TLS (HTTPS, Redis, Kafka, AMQPS, gRPC...).
const (
	ProtoAuto     = starttls.Auto
	ProtoNone     = starttls.None
	ProtoPostgres = starttls.Postgres
	// ProtoPostgresDirect is PostgreSQL 17 direct TLS: no SSLRequest, ALPN
	// "postgresql" is mandatory.
	ProtoPostgresDirect = starttls.PostgresDirect
	ProtoMySQL          = starttls.MySQL
	ProtoSMTP           = starttls.SMTP
	ProtoIMAP           = starttls.IMAP
	ProtoPOP3           = starttls.POP3
	ProtoFTP            = starttls.FTP
	ProtoLDAP           = starttls.LDAP
	ProtoXMPP           = starttls.XMPP
)

// Protocols lists every accepted --starttls value.
var Protocols = starttls.All

// ParseProtocol parses a --starttls value or a target scheme.
func ParseProtocol(s string) (Protocol, error) { return starttls.Parse(s) }

// ErrNoTLS reports an endpoint that answered its protocol but refused to
// start TLS (PostgreSQL 'N', SMTP without STARTTLS, ...).
var ErrNoTLS = starttls.ErrRefused

// NoTLSError wraps ErrNoTLS with what the server said.
type NoTLSError = starttls.RefusedError

// PreambleError reports an endpoint whose plaintext protocol was not what
// the preamble expected (e.g. an HTTP server on the PostgreSQL port).
type PreambleError = starttls.PreambleError

// StartTLS runs the plaintext preamble of p on conn (whose deadline the
// caller sets) so that the next bytes on conn are the TLS handshake.
// serverName is used by protocols that name the server (XMPP).
func StartTLS(conn net.Conn, p Protocol, serverName string) error {
	_, _, err := starttls.Negotiate(context.Background(), conn, p, serverName)
	return err
}
