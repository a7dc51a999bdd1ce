package scan

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// Protocol names the plaintext preamble that precedes TLS on an endpoint.
type Protocol string

// Preamble protocols. ProtoAuto picks one by well-known port; ProtoNone is
// implicit TLS (HTTPS, Redis, Kafka, AMQPS, gRPC...).
const (
	ProtoAuto     Protocol = "auto"
	ProtoNone     Protocol = "none"
	ProtoPostgres Protocol = "postgres"
	// ProtoPostgresDirect is PostgreSQL 17 direct TLS: no SSLRequest, ALPN
	// "postgresql" is mandatory.
	ProtoPostgresDirect Protocol = "postgres-direct"
	ProtoMySQL          Protocol = "mysql"
	ProtoSMTP           Protocol = "smtp"
	ProtoIMAP           Protocol = "imap"
	ProtoPOP3           Protocol = "pop3"
	ProtoFTP            Protocol = "ftp"
	ProtoLDAP           Protocol = "ldap"
	ProtoXMPP           Protocol = "xmpp"
)

// Protocols lists every accepted --starttls value.
var Protocols = []Protocol{ProtoAuto, ProtoNone, ProtoPostgres, ProtoPostgresDirect, ProtoMySQL, ProtoSMTP, ProtoIMAP, ProtoPOP3, ProtoFTP, ProtoLDAP, ProtoXMPP}

var protoAliases = map[string]Protocol{
	"": ProtoAuto, "tls": ProtoNone, "https": ProtoNone, "implicit": ProtoNone, "redis": ProtoNone, "rediss": ProtoNone,
	"kafka": ProtoNone, "amqps": ProtoNone, "grpc": ProtoNone, "grpcs": ProtoNone, "http": ProtoNone,
	"postgresql": ProtoPostgres, "pg": ProtoPostgres, "postgresql-direct": ProtoPostgresDirect, "pg-direct": ProtoPostgresDirect,
	"submission": ProtoSMTP, "ldap-starttls": ProtoLDAP, "xmpp-client": ProtoXMPP,
}

// ParseProtocol parses a --starttls value or a target scheme.
func ParseProtocol(s string) (Protocol, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	if p, ok := protoAliases[k]; ok {
		return p, nil
	}
	for _, p := range Protocols {
		if string(p) == k {
			return p, nil
		}
	}
	names := make([]string, len(Protocols))
	for i, p := range Protocols {
		names[i] = string(p)
	}
	return "", fmt.Errorf("unknown protocol %q: use one of %s (or tls/https for implicit TLS)", s, strings.Join(names, ", "))
}

var wellKnownPorts = map[int]Protocol{
	5432: ProtoPostgres, 3306: ProtoMySQL, 25: ProtoSMTP, 587: ProtoSMTP, 143: ProtoIMAP, 110: ProtoPOP3,
	21: ProtoFTP, 389: ProtoLDAP, 5222: ProtoXMPP,
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

// Resolve turns ProtoAuto into the protocol of a well-known port (or
// ProtoNone).
func (p Protocol) Resolve(port int) Protocol {
	if p == "" || p == ProtoAuto {
		if q, ok := wellKnownPorts[port]; ok {
			return q
		}
		return ProtoNone
	}
	return p
}

// ALPN returns the ALPN protocols the preamble requires (postgres-direct).
func (p Protocol) ALPN() []string {
	if p == ProtoPostgresDirect {
		return []string{"postgresql"}
	}
	return nil
}

// ErrNoTLS reports an endpoint that answered its protocol but refused to
// start TLS (PostgreSQL 'N', SMTP without STARTTLS, ...).
var ErrNoTLS = errors.New("server does not offer TLS")

// NoTLSError wraps ErrNoTLS with what the server said.
type NoTLSError struct {
	Protocol Protocol
	Detail   string
}

// Error says which protocol refused TLS and how.
func (e *NoTLSError) Error() string {
	return fmt.Sprintf("%s: server does not offer TLS (%s)", e.Protocol, e.Detail)
}

// Is makes errors.Is(err, ErrNoTLS) true.
func (e *NoTLSError) Is(target error) bool { return target == ErrNoTLS }

// PreambleError reports an endpoint whose plaintext protocol was not what
// the preamble expected (e.g. an HTTP server on the PostgreSQL port).
type PreambleError struct {
	Protocol Protocol
	Detail   string
}

// Error describes the unexpected answer and what to check.
func (e *PreambleError) Error() string {
	return fmt.Sprintf("%s preamble: %s (is this really a %s server? set --starttls)", e.Protocol, e.Detail, e.Protocol)
}

// Reason returns "not_tls": the endpoint did not speak the expected protocol.
func (e *PreambleError) Reason() string { return "not_tls" }

// StartTLS runs the plaintext preamble of p on conn (whose deadline the
// caller sets) so that the next bytes on conn are the TLS handshake.
// serverName is used by protocols that name the server (XMPP).
func StartTLS(conn net.Conn, p Protocol, serverName string) error {
	switch p {
	case ProtoNone, ProtoAuto, "", ProtoPostgresDirect:
		return nil
	case ProtoPostgres:
		return startPostgres(conn)
	case ProtoMySQL:
		return startMySQL(conn)
	case ProtoSMTP:
		return startSMTP(conn)
	case ProtoIMAP:
		return startIMAP(conn)
	case ProtoPOP3:
		return startLine(conn, p, "+OK", "STLS\r\n", "+OK")
	case ProtoFTP:
		return startFTP(conn)
	case ProtoLDAP:
		return startLDAP(conn)
	case ProtoXMPP:
		return startXMPP(conn, serverName)
	}
	return fmt.Errorf("unsupported STARTTLS protocol %q", p)
}

// startPostgres sends an SSLRequest (PostgreSQL protocol 3, message
// "SSLRequest": length 8, code 80877103) and expects 'S'.
func startPostgres(conn net.Conn) error {
	req := []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}
	if _, err := conn.Write(req); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return err
	}
	switch b[0] {
	case 'S':
		return nil
	case 'N':
		return &NoTLSError{Protocol: ProtoPostgres, Detail: "SSLRequest answered 'N': set ssl=on in postgresql.conf"}
	case 'E':
		return &PreambleError{Protocol: ProtoPostgres, Detail: "SSLRequest answered with an error message (a server older than protocol 3?)"}
	}
	return &PreambleError{Protocol: ProtoPostgres, Detail: fmt.Sprintf("SSLRequest answered 0x%02x, want 'S' or 'N'", b[0])}
}

// startMySQL reads the server greeting (protocol v10), checks CLIENT_SSL and
// sends the SSL request packet (capabilities, max packet, charset, 23 zero
// bytes) with sequence id 1.
func startMySQL(conn net.Conn) error {
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return err
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if n < 1 || n > 1<<16 {
		return &PreambleError{Protocol: ProtoMySQL, Detail: fmt.Sprintf("greeting length %d", n)}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(conn, body); err != nil {
		return err
	}
	if body[0] == 0xff {
		return &PreambleError{Protocol: ProtoMySQL, Detail: "server sent an error packet: " + strings.TrimSpace(string(body[min(len(body), 3):]))}
	}
	if body[0] != 10 {
		return &PreambleError{Protocol: ProtoMySQL, Detail: fmt.Sprintf("greeting protocol version %d, want 10", body[0])}
	}
	// version string NUL, thread id 4, auth data 8, filler 1, caps low 2.
	i := bytes.IndexByte(body[1:], 0)
	if i < 0 || len(body) < 1+i+1+4+8+1+2 {
		return &PreambleError{Protocol: ProtoMySQL, Detail: "short greeting"}
	}
	off := 1 + i + 1 + 4 + 8 + 1
	caps := uint32(binary.LittleEndian.Uint16(body[off:]))
	const clientSSL = 0x0800
	if caps&clientSSL == 0 {
		return &NoTLSError{Protocol: ProtoMySQL, Detail: "greeting lacks CLIENT_SSL: configure ssl_cert/ssl_key"}
	}
	pkt := make([]byte, 4+32)
	pkt[0], pkt[3] = 32, 1
	const clientProtocol41, clientSecure, clientLongPassword = 0x0200, 0x8000, 0x0001
	binary.LittleEndian.PutUint32(pkt[4:], clientSSL|clientProtocol41|clientSecure|clientLongPassword)
	binary.LittleEndian.PutUint32(pkt[8:], 1<<24)
	pkt[12] = 33 // utf8_general_ci
	_, err := conn.Write(pkt)
	return err
}

// readReply reads one (possibly multi-line, "250-..." then "250 ...") reply
// of an SMTP/FTP-style protocol and returns its code and text.
func readReply(r *bufio.Reader) (string, string, error) {
	var all strings.Builder
	for lines := 0; lines < 100; lines++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", all.String(), err
		}
		all.WriteString(line)
		if len(line) < 4 {
			return "", all.String(), errors.New("short reply line")
		}
		if line[3] != '-' {
			return line[:3], all.String(), nil
		}
	}
	return "", all.String(), errors.New("reply longer than 100 lines")
}

// startSMTP: greeting 220, EHLO, STARTTLS -> 220 (RFC 3207).
func startSMTP(conn net.Conn) error {
	r := bufio.NewReader(conn)
	code, text, err := readReply(r)
	if err != nil || code != "220" {
		return preambleErr(ProtoSMTP, "greeting", text, err)
	}
	if _, err := io.WriteString(conn, "EHLO pqtls-scan.invalid\r\n"); err != nil {
		return err
	}
	code, text, err = readReply(r)
	if err != nil || code != "250" {
		return preambleErr(ProtoSMTP, "EHLO", text, err)
	}
	if !strings.Contains(strings.ToUpper(text), "STARTTLS") {
		return &NoTLSError{Protocol: ProtoSMTP, Detail: "EHLO does not list STARTTLS"}
	}
	if _, err := io.WriteString(conn, "STARTTLS\r\n"); err != nil {
		return err
	}
	code, text, err = readReply(r)
	if err != nil {
		return err
	}
	if code != "220" {
		return &NoTLSError{Protocol: ProtoSMTP, Detail: "STARTTLS answered " + strings.TrimSpace(text)}
	}
	return nil
}

// startFTP: greeting 220, AUTH TLS -> 234 (RFC 4217).
func startFTP(conn net.Conn) error {
	r := bufio.NewReader(conn)
	code, text, err := readReply(r)
	if err != nil || code != "220" {
		return preambleErr(ProtoFTP, "greeting", text, err)
	}
	if _, err := io.WriteString(conn, "AUTH TLS\r\n"); err != nil {
		return err
	}
	code, text, err = readReply(r)
	if err != nil {
		return err
	}
	if code != "234" {
		return &NoTLSError{Protocol: ProtoFTP, Detail: "AUTH TLS answered " + strings.TrimSpace(text)}
	}
	return nil
}

// startIMAP: "* OK" greeting, "a1 STARTTLS" -> "a1 OK" (RFC 3501 6.2.1).
func startIMAP(conn net.Conn) error {
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "* OK") && !strings.HasPrefix(line, "* PREAUTH") {
		return preambleErr(ProtoIMAP, "greeting", line, err)
	}
	if _, err := io.WriteString(conn, "a1 STARTTLS\r\n"); err != nil {
		return err
	}
	for i := 0; i < 50; i++ {
		line, err = r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "a1 ") {
			if strings.HasPrefix(line, "a1 OK") {
				return nil
			}
			return &NoTLSError{Protocol: ProtoIMAP, Detail: "STARTTLS answered " + strings.TrimSpace(line)}
		}
	}
	return &PreambleError{Protocol: ProtoIMAP, Detail: "no tagged answer to STARTTLS"}
}

// startLine handles single-line protocols (POP3 STLS, RFC 2595).
func startLine(conn net.Conn, p Protocol, greet, cmd, ok string) error {
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, greet) {
		return preambleErr(p, "greeting", line, err)
	}
	if _, err := io.WriteString(conn, cmd); err != nil {
		return err
	}
	line, err = r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, ok) {
		return &NoTLSError{Protocol: p, Detail: strings.TrimSpace(cmd) + " answered " + strings.TrimSpace(line)}
	}
	return nil
}

// startLDAP sends the StartTLS extended operation (RFC 4511 section 4.14,
// OID 1.3.6.1.4.1.1466.20037) and checks resultCode success.
func startLDAP(conn net.Conn) error {
	oid := "1.3.6.1.4.1.1466.20037"
	ext := append([]byte{0x80, byte(len(oid))}, oid...)   // [0] requestName
	op := append([]byte{0x77, byte(len(ext))}, ext...)    // [APPLICATION 23] ExtendedRequest
	body := append([]byte{0x02, 0x01, 0x01}, op...)       // messageID 1
	msg := append([]byte{0x30, byte(len(body))}, body...) // LDAPMessage SEQUENCE
	if _, err := conn.Write(msg); err != nil {
		return err
	}
	// Read one BER element: tag, length (short or long form), content.
	var hdr [2]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return err
	}
	if hdr[0] != 0x30 {
		return &PreambleError{Protocol: ProtoLDAP, Detail: fmt.Sprintf("answer starts with 0x%02x, want an LDAPMessage", hdr[0])}
	}
	n := int(hdr[1])
	if n&0x80 != 0 {
		k := n & 0x7f
		if k < 1 || k > 3 {
			return &PreambleError{Protocol: ProtoLDAP, Detail: "bad BER length"}
		}
		lb := make([]byte, k)
		if _, err := io.ReadFull(conn, lb); err != nil {
			return err
		}
		n = 0
		for _, b := range lb {
			n = n<<8 | int(b)
		}
	}
	if n > 1<<16 {
		return &PreambleError{Protocol: ProtoLDAP, Detail: "answer too long"}
	}
	resp := make([]byte, n)
	if _, err := io.ReadFull(conn, resp); err != nil {
		return err
	}
	// messageID INTEGER, then [APPLICATION 24] ExtendedResponse whose first
	// element is resultCode ENUMERATED.
	i := 0
	if len(resp) < 3 || resp[0] != 0x02 {
		return &PreambleError{Protocol: ProtoLDAP, Detail: "no messageID"}
	}
	i = 2 + int(resp[1])
	if i+2 > len(resp) || resp[i] != 0x78 {
		return &PreambleError{Protocol: ProtoLDAP, Detail: "answer is not an ExtendedResponse"}
	}
	i += 2
	if resp[i-1]&0x80 != 0 {
		i += int(resp[i-1] & 0x7f)
	}
	if i+3 > len(resp) || resp[i] != 0x0a || resp[i+1] != 1 {
		return &PreambleError{Protocol: ProtoLDAP, Detail: "ExtendedResponse without resultCode"}
	}
	if code := resp[i+2]; code != 0 {
		return &NoTLSError{Protocol: ProtoLDAP, Detail: fmt.Sprintf("StartTLS resultCode %d (2 = protocolError: server has no TLS configured)", code)}
	}
	return nil
}

// startXMPP opens a client stream (RFC 6120 section 5.4) and sends
// <starttls/>, expecting <proceed/>.
func startXMPP(conn net.Conn, serverName string) error {
	to := serverName
	if to == "" {
		to = "localhost"
	}
	open := fmt.Sprintf("<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>", to)
	if _, err := io.WriteString(conn, open); err != nil {
		return err
	}
	buf, err := readUntil(conn, "</stream:features>", 64*1024)
	if err != nil {
		return preambleErr(ProtoXMPP, "stream features", buf, err)
	}
	if !strings.Contains(buf, "urn:ietf:params:xml:ns:xmpp-tls") {
		return &NoTLSError{Protocol: ProtoXMPP, Detail: "stream features do not offer starttls"}
	}
	if _, err := io.WriteString(conn, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"); err != nil {
		return err
	}
	buf, err = readUntil(conn, ">", 4096)
	if err != nil {
		return err
	}
	if !strings.Contains(buf, "<proceed") {
		return &NoTLSError{Protocol: ProtoXMPP, Detail: "starttls answered " + buf}
	}
	return nil
}

// readUntil reads byte by byte (so that no TLS byte is consumed) until the
// marker appears.
func readUntil(conn net.Conn, marker string, limit int) (string, error) {
	var b bytes.Buffer
	var one [1]byte
	for b.Len() < limit {
		if _, err := conn.Read(one[:]); err != nil {
			return b.String(), err
		}
		b.WriteByte(one[0])
		if bytes.HasSuffix(b.Bytes(), []byte(marker)) {
			return b.String(), nil
		}
	}
	return b.String(), errors.New("answer too long")
}

func preambleErr(p Protocol, step, got string, err error) error {
	if err != nil && got == "" {
		return err
	}
	got = strings.TrimSpace(got)
	if len(got) > 60 {
		got = got[:60] + "..."
	}
	return &PreambleError{Protocol: p, Detail: fmt.Sprintf("unexpected %s %q", step, got)}
}
