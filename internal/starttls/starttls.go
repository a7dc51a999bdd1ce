// Package starttls runs the clear-text preamble that some protocols need
// before a TLS ClientHello can be sent on a connection: PostgreSQL's
// SSLRequest, SMTP/IMAP/POP3 STARTTLS. It is shared by the probers (canary,
// scan) so that each protocol is spoken in one place.
package starttls

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"
)

// Protocols lists the accepted protocol names, in the order shown to users.
var Protocols = []string{"postgres", "smtp", "imap", "pop3"}

// ErrRefused is wrapped when the server answers the preamble but does not
// offer TLS.
var ErrRefused = errors.New("server refused to start TLS")

// Valid reports whether proto is "" (no preamble) or one of Protocols.
func Valid(proto string) bool {
	return proto == "" || slices.Contains(Protocols, proto)
}

// Check returns a usage error naming the accepted values when proto is not
// valid.
func Check(proto string) error {
	if Valid(proto) {
		return nil
	}
	return fmt.Errorf("unknown STARTTLS protocol %q: use one of %s", proto, strings.Join(Protocols, ", "))
}

// maxLine bounds every line read from the server.
const maxLine = 4096

// Negotiate runs the preamble of proto on conn so that the next bytes the
// client writes may be a TLS ClientHello. proto "" does nothing. It returns
// the number of bytes written and read. The context deadline (if any) is set
// on conn for the duration of the preamble and cleared afterwards.
func Negotiate(ctx context.Context, conn net.Conn, proto string) (sent, received int, err error) {
	if proto == "" {
		return 0, 0, nil
	}
	if err := Check(proto); err != nil {
		return 0, 0, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
		defer func() { _ = conn.SetDeadline(time.Time{}) }()
	}
	cc := &countingConn{Conn: conn}
	switch proto {
	case "postgres":
		err = postgres(cc)
	case "smtp":
		err = smtp(cc)
	case "imap":
		err = imap(cc)
	case "pop3":
		err = pop3(cc)
	}
	if err != nil {
		err = fmt.Errorf("%s STARTTLS preamble: %w", proto, err)
	}
	return cc.sent, cc.received, err
}

// postgres sends an SSLRequest (PostgreSQL protocol, "SSL Session
// Encryption"): length 8, code 80877103; the server answers 'S' or 'N'.
func postgres(c *countingConn) error {
	req := binary.BigEndian.AppendUint32(nil, 8)
	req = binary.BigEndian.AppendUint32(req, 80877103)
	if _, err := c.Write(req); err != nil {
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
		return fmt.Errorf("%w: PostgreSQL answered 'N' to SSLRequest; set ssl = on in postgresql.conf", ErrRefused)
	default:
		return fmt.Errorf("unexpected answer 0x%02x to SSLRequest: is this a PostgreSQL server?", b[0])
	}
}

// smtp: greeting 220, EHLO, STARTTLS, 220 (RFC 3207).
func smtp(c *countingConn) error {
	r := bufio.NewReaderSize(c, maxLine)
	if err := smtpReply(r, "220"); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if _, err := io.WriteString(c, "EHLO pqtls\r\n"); err != nil {
		return err
	}
	if err := smtpReply(r, "250"); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if _, err := io.WriteString(c, "STARTTLS\r\n"); err != nil {
		return err
	}
	if err := smtpReply(r, "220"); err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return nil
}

// smtpReply reads a possibly multi-line reply and checks its code.
func smtpReply(r *bufio.Reader, code string) error {
	for range 100 {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if len(line) < 4 || line[:3] != code {
			return fmt.Errorf("unexpected reply %q (want %s)", line, code)
		}
		if line[3] == ' ' {
			return nil
		}
	}
	return errors.New("reply longer than 100 lines")
}

// imap: greeting "* OK", "a STARTTLS", "a OK" (RFC 3501 section 6.2.1).
func imap(c *countingConn) error {
	r := bufio.NewReaderSize(c, maxLine)
	line, err := readLine(r)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	if _, err := io.WriteString(c, "a STARTTLS\r\n"); err != nil {
		return err
	}
	for range 100 {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(line, "a OK"):
			return nil
		case strings.HasPrefix(line, "a "):
			return fmt.Errorf("%w: %q", ErrRefused, line)
		}
	}
	return errors.New("no tagged answer to STARTTLS")
}

// pop3: greeting "+OK", "STLS", "+OK" (RFC 2595 section 4).
func pop3(c *countingConn) error {
	r := bufio.NewReaderSize(c, maxLine)
	line, err := readLine(r)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(line, "+OK") {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	if _, err := io.WriteString(c, "STLS\r\n"); err != nil {
		return err
	}
	line, err = readLine(r)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+OK") {
		return fmt.Errorf("%w: %q", ErrRefused, line)
	}
	return nil
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("line longer than %d bytes", maxLine)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

type countingConn struct {
	net.Conn
	sent, received int
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.received += n
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent += n
	return n, err
}
