// Package starttls runs the clear-text preamble that some protocols need
// before a TLS ClientHello can be sent on a connection: PostgreSQL's
// SSLRequest, MySQL's SSL request packet, SMTP/IMAP/POP3/FTP/XMPP STARTTLS
// and the LDAP StartTLS extended operation. It also knows which protocol a
// well-known port speaks. It is the one implementation shared by the
// probers (scan, canary).
package starttls

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// maxLine bounds every line read from the server.
const maxLine = 4096

// Negotiate runs the preamble of p on conn so that the next bytes the
// client writes may be a TLS ClientHello. Protocols without a preamble
// (None, Auto, PostgresDirect, "") do nothing. serverName is used by the
// protocols that name the server (XMPP). It returns the number of bytes
// written and read.
//
// Every step is bounded: when ctx has a deadline it is set on conn for the
// duration of the preamble and cleared afterwards; without one the caller's
// deadline on conn applies. Cancelling ctx aborts a blocked step.
//
// A server that answers but does not offer TLS gives a *RefusedError
// (errors.Is(err, ErrRefused)); one that does not speak the protocol gives
// a *PreambleError; I/O errors (timeouts, resets) are wrapped with %w.
func Negotiate(ctx context.Context, conn net.Conn, p Protocol, serverName string) (sent, received int, err error) {
	if !p.HasPreamble() {
		switch p {
		case "", Auto, None, PostgresDirect:
			return 0, 0, nil
		}
		return 0, 0, fmt.Errorf("unsupported STARTTLS protocol %q: use one of %s", p, strings.Join(Names(All), ", "))
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
		defer func() { _ = conn.SetDeadline(time.Time{}) }()
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	cc := &CountingConn{Conn: conn}
	err = preambles[p](cc, serverName)
	var re *RefusedError
	var pe *PreambleError
	if err != nil && !errors.As(err, &re) && !errors.As(err, &pe) {
		err = fmt.Errorf("%s STARTTLS preamble: %w", p, err)
	}
	return cc.Sent, cc.Received, err
}

// preambles holds the client side of every protocol with a preamble
// (HasPreamble); only XMPP uses the server name.
var preambles = map[Protocol]func(c io.ReadWriter, serverName string) error{
	Postgres: nameless(postgres), MySQL: nameless(mysql), SMTP: nameless(smtp), IMAP: nameless(imap),
	POP3: nameless(pop3), FTP: nameless(ftp), LDAP: nameless(ldap), XMPP: xmpp,
}

// nameless adapts a preamble that does not name the server.
func nameless(f func(io.ReadWriter) error) func(io.ReadWriter, string) error {
	return func(c io.ReadWriter, _ string) error { return f(c) }
}

// PostgresSSLRequest is PostgreSQL's SSLRequest message (protocol 3, "SSL
// Session Encryption"): Int32 length 8, Int32 code 80877103 (1234<<16 |
// 5679). The passive analyzer (observe) recognises it too.
const PostgresSSLRequest = "\x00\x00\x00\x08\x04\xd2\x16\x2f"

// postgres sends an SSLRequest (PostgreSQL protocol 3, "SSL Session
// Encryption": length 8, code 80877103) and expects 'S' or 'N'.
func postgres(c io.ReadWriter) error {
	if _, err := io.WriteString(c, PostgresSSLRequest); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return err
	}
	switch b[0] {
	case 'S':
		return nil
	case 'N':
		return &RefusedError{Protocol: Postgres, Detail: "SSLRequest answered 'N': set ssl=on in postgresql.conf"}
	case 'E':
		return &PreambleError{Protocol: Postgres, Detail: "SSLRequest answered with an error message (a server older than protocol 3?)"}
	}
	return &PreambleError{Protocol: Postgres, Detail: fmt.Sprintf("SSLRequest answered 0x%02x, want 'S' or 'N'", b[0])}
}

// mysql reads the server greeting (protocol v10), checks CLIENT_SSL and
// sends the SSL request packet (capabilities, max packet, charset, 23 zero
// bytes) with sequence id 1.
func mysql(c io.ReadWriter) error {
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return err
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if n < 1 || n > 1<<16 {
		return &PreambleError{Protocol: MySQL, Detail: fmt.Sprintf("greeting length %d", n)}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		return err
	}
	if body[0] == 0xff {
		return &PreambleError{Protocol: MySQL, Detail: "server sent an error packet: " + strings.TrimSpace(string(body[min(len(body), 3):]))}
	}
	if body[0] != 10 {
		return &PreambleError{Protocol: MySQL, Detail: fmt.Sprintf("greeting protocol version %d, want 10", body[0])}
	}
	// version string NUL, thread id 4, auth data 8, filler 1, caps low 2.
	i := bytes.IndexByte(body[1:], 0)
	if i < 0 || len(body) < 1+i+1+4+8+1+2 {
		return &PreambleError{Protocol: MySQL, Detail: "short greeting"}
	}
	off := 1 + i + 1 + 4 + 8 + 1
	caps := uint32(binary.LittleEndian.Uint16(body[off:]))
	const clientSSL = 0x0800
	if caps&clientSSL == 0 {
		return &RefusedError{Protocol: MySQL, Detail: "greeting lacks CLIENT_SSL: configure ssl_cert/ssl_key"}
	}
	pkt := make([]byte, 4+32)
	pkt[0], pkt[3] = 32, 1
	const clientProtocol41, clientSecure, clientLongPassword = 0x0200, 0x8000, 0x0001
	binary.LittleEndian.PutUint32(pkt[4:], clientSSL|clientProtocol41|clientSecure|clientLongPassword)
	binary.LittleEndian.PutUint32(pkt[8:], 1<<24)
	pkt[12] = 33 // utf8_general_ci
	_, err := c.Write(pkt)
	return err
}

// smtp: greeting 220, EHLO listing STARTTLS, STARTTLS -> 220 (RFC 3207).
func smtp(c io.ReadWriter) error {
	r := bufio.NewReaderSize(c, maxLine)
	code, text, err := readReply(r)
	if err != nil || code != "220" {
		return preambleErr(SMTP, "greeting", text, err)
	}
	if _, err := io.WriteString(c, "EHLO pqtls.invalid\r\n"); err != nil {
		return err
	}
	code, text, err = readReply(r)
	if err != nil || code != "250" {
		return preambleErr(SMTP, "EHLO answer", text, err)
	}
	if !strings.Contains(strings.ToUpper(text), "STARTTLS") {
		return &RefusedError{Protocol: SMTP, Detail: "EHLO does not list STARTTLS"}
	}
	return command(c, r, SMTP, "STARTTLS", "220")
}

// ftp: greeting 220, AUTH TLS -> 234 (RFC 4217).
func ftp(c io.ReadWriter) error {
	r := bufio.NewReaderSize(c, maxLine)
	code, text, err := readReply(r)
	if err != nil || code != "220" {
		return preambleErr(FTP, "greeting", text, err)
	}
	return command(c, r, FTP, "AUTH TLS", "234")
}

// command sends an SMTP/FTP-style command and expects reply code want; any
// other complete reply is a refusal.
func command(c io.Writer, r *bufio.Reader, p Protocol, cmd, want string) error {
	if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
		return err
	}
	code, text, err := readReply(r)
	if err != nil {
		return preambleErr(p, cmd+" answer", text, err)
	}
	if code != want {
		return &RefusedError{Protocol: p, Detail: cmd + " answered " + clip(text)}
	}
	return nil
}

// readReply reads one (possibly multi-line, "250-..." then "250 ...") reply
// of an SMTP/FTP-style protocol and returns its code and text.
func readReply(r *bufio.Reader) (code, text string, err error) {
	var all strings.Builder
	for range 100 {
		line, err := readLine(r)
		if err != nil {
			return "", all.String(), err
		}
		all.WriteString(line + "\n")
		if len(line) < 4 {
			return "", all.String(), errors.New("short reply line")
		}
		if line[3] != '-' {
			return line[:3], all.String(), nil
		}
	}
	return "", all.String(), errors.New("reply longer than 100 lines")
}

// imap: "* OK" (or "* PREAUTH") greeting, "a STARTTLS" -> "a OK" (RFC 3501
// section 6.2.1).
func imap(c io.ReadWriter) error {
	r := bufio.NewReaderSize(c, maxLine)
	line, err := readLine(r)
	if err != nil || !strings.HasPrefix(line, "* OK") && !strings.HasPrefix(line, "* PREAUTH") {
		return preambleErr(IMAP, "greeting", line, err)
	}
	if _, err := io.WriteString(c, "a STARTTLS\r\n"); err != nil {
		return err
	}
	for range 100 {
		line, err := readLine(r)
		if err != nil {
			return preambleErr(IMAP, "STARTTLS answer", line, err)
		}
		switch {
		case strings.HasPrefix(line, "a OK"):
			return nil
		case strings.HasPrefix(line, "a "):
			return &RefusedError{Protocol: IMAP, Detail: "STARTTLS answered " + clip(line)}
		}
	}
	return &PreambleError{Protocol: IMAP, Detail: "no tagged answer to STARTTLS"}
}

// pop3: greeting "+OK", "STLS" -> "+OK" (RFC 2595 section 4).
func pop3(c io.ReadWriter) error {
	r := bufio.NewReaderSize(c, maxLine)
	line, err := readLine(r)
	if err != nil || !strings.HasPrefix(line, "+OK") {
		return preambleErr(POP3, "greeting", line, err)
	}
	if _, err := io.WriteString(c, "STLS\r\n"); err != nil {
		return err
	}
	line, err = readLine(r)
	if err != nil {
		return preambleErr(POP3, "STLS answer", line, err)
	}
	if !strings.HasPrefix(line, "+OK") {
		return &RefusedError{Protocol: POP3, Detail: "STLS answered " + clip(line)}
	}
	return nil
}

// readLine reads one line of at most maxLine bytes without its CRLF.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return clip(string(line)), fmt.Errorf("line longer than %d bytes", maxLine)
	}
	if err != nil {
		return string(line), err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// ldap sends the StartTLS extended operation (RFC 4511 section 4.14, OID
// 1.3.6.1.4.1.1466.20037) and checks resultCode success.
func ldap(c io.ReadWriter) error {
	oid := "1.3.6.1.4.1.1466.20037"
	ext := append([]byte{0x80, byte(len(oid))}, oid...)   // [0] requestName
	op := append([]byte{0x77, byte(len(ext))}, ext...)    // [APPLICATION 23] ExtendedRequest
	body := append([]byte{0x02, 0x01, 0x01}, op...)       // messageID 1
	msg := append([]byte{0x30, byte(len(body))}, body...) // LDAPMessage SEQUENCE
	if _, err := c.Write(msg); err != nil {
		return err
	}
	// Read one BER element: tag, length (short or long form), content.
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return err
	}
	if hdr[0] != 0x30 {
		return &PreambleError{Protocol: LDAP, Detail: fmt.Sprintf("answer starts with 0x%02x, want an LDAPMessage", hdr[0])}
	}
	n := int(hdr[1])
	if n&0x80 != 0 {
		k := n & 0x7f
		if k < 1 || k > 3 {
			return &PreambleError{Protocol: LDAP, Detail: "bad BER length"}
		}
		lb := make([]byte, k)
		if _, err := io.ReadFull(c, lb); err != nil {
			return err
		}
		n = 0
		for _, b := range lb {
			n = n<<8 | int(b)
		}
	}
	if n > 1<<16 {
		return &PreambleError{Protocol: LDAP, Detail: "answer too long"}
	}
	resp := make([]byte, n)
	if _, err := io.ReadFull(c, resp); err != nil {
		return err
	}
	// messageID INTEGER, then [APPLICATION 24] ExtendedResponse whose first
	// element is resultCode ENUMERATED.
	if len(resp) < 3 || resp[0] != 0x02 {
		return &PreambleError{Protocol: LDAP, Detail: "no messageID"}
	}
	i := 2 + int(resp[1])
	if i+2 > len(resp) || resp[i] != 0x78 {
		return &PreambleError{Protocol: LDAP, Detail: "answer is not an ExtendedResponse"}
	}
	i += 2
	if resp[i-1]&0x80 != 0 {
		i += int(resp[i-1] & 0x7f)
	}
	if i+3 > len(resp) || resp[i] != 0x0a || resp[i+1] != 1 {
		return &PreambleError{Protocol: LDAP, Detail: "ExtendedResponse without resultCode"}
	}
	if code := resp[i+2]; code != 0 {
		return &RefusedError{Protocol: LDAP, Detail: fmt.Sprintf("StartTLS resultCode %d (2 = protocolError: server has no TLS configured)", code)}
	}
	return nil
}

// xmpp opens a client stream (RFC 6120 section 5.4) and sends <starttls/>,
// expecting <proceed/>.
func xmpp(c io.ReadWriter, serverName string) error {
	to := serverName
	if to == "" {
		to = "localhost"
	}
	open := fmt.Sprintf("<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>", to)
	if _, err := io.WriteString(c, open); err != nil {
		return err
	}
	buf, err := readUntil(c, "</stream:features>", 64*1024)
	if err != nil {
		return preambleErr(XMPP, "stream features", buf, err)
	}
	if !strings.Contains(buf, "urn:ietf:params:xml:ns:xmpp-tls") {
		return &RefusedError{Protocol: XMPP, Detail: "stream features do not offer starttls"}
	}
	if _, err := io.WriteString(c, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"); err != nil {
		return err
	}
	buf, err = readUntil(c, ">", 4096)
	if err != nil {
		return preambleErr(XMPP, "starttls answer", buf, err)
	}
	if !strings.Contains(buf, "<proceed") {
		return &RefusedError{Protocol: XMPP, Detail: "starttls answered " + clip(buf)}
	}
	return nil
}

// readUntil reads byte by byte (so that no TLS byte is consumed) until the
// marker appears.
func readUntil(r io.Reader, marker string, limit int) (string, error) {
	var b bytes.Buffer
	var one [1]byte
	for b.Len() < limit {
		if _, err := io.ReadFull(r, one[:]); err != nil {
			return b.String(), err
		}
		b.WriteByte(one[0])
		if bytes.HasSuffix(b.Bytes(), []byte(marker)) {
			return b.String(), nil
		}
	}
	return b.String(), errors.New("answer too long")
}

// preambleErr returns err itself for an I/O failure before any answer, and
// a *PreambleError quoting the answer otherwise.
func preambleErr(p Protocol, step, got string, err error) error {
	if err != nil && strings.TrimSpace(got) == "" {
		return err
	}
	return &PreambleError{Protocol: p, Detail: fmt.Sprintf("unexpected %s %q", step, clip(got))}
}

// clip trims s and shortens it for an error message.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}

// CountingConn counts the bytes read from and written to a net.Conn: the
// preamble's byte counts of Negotiate, and the canary's handshake sizes.
type CountingConn struct {
	net.Conn
	// Sent and Received are the bytes written and read so far.
	Sent, Received int
}

// Read reads from the inner conn and counts the bytes.
func (c *CountingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.Received += n
	return n, err
}

// Write writes to the inner conn and counts the bytes.
func (c *CountingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.Sent += n
	return n, err
}
