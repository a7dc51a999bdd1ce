package starttls

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeServer runs script on the server end of a loopback connection and
// returns the client end.
func fakeServer(t *testing.T, script func(c net.Conn)) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		script(c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPostgres(t *testing.T) {
	for answer, wantErr := range map[byte]error{'S': nil, 'N': ErrRefused} {
		got := make(chan []byte, 1)
		c := fakeServer(t, func(c net.Conn) {
			b := make([]byte, 8)
			_, _ = io.ReadFull(c, b)
			got <- b
			_, _ = c.Write([]byte{answer})
		})
		sent, recv, err := Negotiate(ctx(t), c, "postgres", "")
		if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
			t.Fatalf("answer %c: err %v", answer, err)
		}
		if sent != 8 || recv != 1 {
			t.Errorf("sent %d received %d", sent, recv)
		}
		if b := <-got; string(b) != "\x00\x00\x00\x08\x04\xd2\x16\x2f" {
			t.Errorf("SSLRequest = %x", b)
		}
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	c := fakeServer(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	cx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _, err := Negotiate(cx, c, "smtp", "")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestParse(t *testing.T) {
	// Unknown names are refused with the list of accepted ones. (Before
	// scan's preambles moved here ldap was unknown; it is now supported.)
	if _, err := Parse("gopher"); err == nil || !strings.Contains(err.Error(), "postgres") || !strings.Contains(err.Error(), "xmpp") {
		t.Fatalf("Parse(gopher) = %v", err)
	}
	for in, want := range map[string]Protocol{"": Auto, "postgres": Postgres, "PG": Postgres, "ldap": LDAP, "https": None, "submission": SMTP, "pg-direct": PostgresDirect} {
		if got, err := Parse(in); got != want || err != nil {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, _, err := Negotiate(context.Background(), nil, "gopher", ""); err == nil || !strings.Contains(err.Error(), "use one of") {
		t.Errorf("Negotiate(gopher) = %v", err)
	}
	for _, p := range All {
		if p.HasPreamble() == (p == Auto || p == None || p == PostgresDirect) {
			t.Errorf("%s: HasPreamble %v", p, p.HasPreamble())
		}
	}
	if PostgresDirect.ALPN()[0] != "postgresql" || Postgres.ALPN() != nil || Auto.Resolve(5432) != Postgres || None.Resolve(5432) != None {
		t.Error("ALPN/Resolve")
	}
}

// mysqlGreeting is a protocol v10 greeting whose lower capabilities are
// 0xff and capsHigh (CLIENT_SSL is 0x08 there).
func mysqlGreeting(capsHigh byte) []byte {
	body := []byte{10}
	body = append(body, "8.0.36\x00"...)
	body = append(body, 1, 0, 0, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 0, 0xff, capsHigh)
	body = append(body, 33, 2, 0, 0xff, 0xc1, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	return append([]byte{byte(len(body)), 0, 0, 0}, body...)
}

// chat is a line-based server script: it writes greeting, then for each
// (command, answer) pair reads one line, which must be the command, and
// writes the answer.
func chat(greeting string, steps ...string) func(c net.Conn, r *bufio.Reader) bool {
	return func(c net.Conn, r *bufio.Reader) bool {
		io.WriteString(c, greeting)
		for i := 0; i+1 < len(steps); i += 2 {
			if l, _ := r.ReadString('\n'); l != steps[i]+"\r\n" {
				return false
			}
			io.WriteString(c, steps[i+1])
		}
		return true
	}
}

// TestProtocols runs each preamble against a fake server that checks what
// the client sends; after a successful preamble the client sends "HELLO"
// (where a ClientHello would go) and the server must read exactly that:
// no preamble byte left unread, none of the next bytes swallowed.
func TestProtocols(t *testing.T) {
	ldapOK := []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}
	ldapNoTLS := []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00}
	xmppFeatures := func(tls bool) string {
		f := "<stream:features><mechanisms/></stream:features>"
		if tls {
			f = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"
		}
		return "<?xml version='1.0'?><stream:stream from='chat.test' id='1' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" + f
	}
	for _, tc := range []struct {
		name  string
		proto Protocol
		// script plays the server; it returns false when the client
		// sent something unexpected.
		script func(c net.Conn, r *bufio.Reader) bool
		want   string // "" ok, "refused", "preamble"
	}{
		{"ftp", FTP, chat("220-welcome\r\n220 FTP ready\r\n", "AUTH TLS", "234 AUTH TLS ok\r\n"), ""},
		{"ftp-refused", FTP, chat("220 FTP ready\r\n", "AUTH TLS", "502 not implemented\r\n"), "refused"},
		{"ldap", LDAP, func(c net.Conn, r *bufio.Reader) bool {
			req := make([]byte, 31)
			if _, err := io.ReadFull(r, req); err != nil || req[0] != 0x30 || !bytes.Contains(req, []byte("1.3.6.1.4.1.1466.20037")) {
				return false
			}
			c.Write(ldapOK)
			return true
		}, ""},
		{"ldap-protocolError", LDAP, func(c net.Conn, r *bufio.Reader) bool {
			io.ReadFull(r, make([]byte, 31))
			c.Write(ldapNoTLS)
			return true
		}, "refused"},
		{"xmpp", XMPP, func(c net.Conn, r *bufio.Reader) bool {
			open, _ := readUntil(r, "version='1.0'>", 4096)
			io.WriteString(c, xmppFeatures(true))
			st, _ := readUntil(r, "/>", 4096)
			io.WriteString(c, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
			return strings.Contains(open, "to='chat.test'") && st == "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
		}, ""},
		{"xmpp-no-starttls", XMPP, func(c net.Conn, r *bufio.Reader) bool {
			readUntil(r, "version='1.0'>", 4096)
			io.WriteString(c, xmppFeatures(false))
			return true
		}, "refused"},
		{"mysql", MySQL, func(c net.Conn, r *bufio.Reader) bool {
			c.Write(mysqlGreeting(0xff))
			req := make([]byte, 36)
			_, err := io.ReadFull(r, req)
			return err == nil && req[0] == 32 && req[3] == 1 && req[5]&0x08 != 0
		}, ""},
		{"mysql-no-ssl", MySQL, func(c net.Conn, r *bufio.Reader) bool {
			c.Write(mysqlGreeting(0xff &^ 0x08))
			return true
		}, "refused"},
		{"smtp", SMTP, chat("220 mx ESMTP\r\n", "EHLO pqtls.invalid", "250-mx\r\n250 STARTTLS\r\n", "STARTTLS", "220 go ahead\r\n"), ""},
		{"smtp-no-starttls", SMTP, chat("220 ready\r\n", "EHLO pqtls.invalid", "250-mx\r\n250 PIPELINING\r\n"), "refused"},
		{"imap-preauth", IMAP, func(c net.Conn, r *bufio.Reader) bool {
			io.WriteString(c, "* PREAUTH ready\r\n")
			l, _ := r.ReadString('\n')
			tag, _, _ := strings.Cut(l, " ")
			io.WriteString(c, "* CAPABILITY IMAP4rev1\r\n"+tag+" OK Begin TLS\r\n")
			return strings.HasSuffix(l, " STARTTLS\r\n")
		}, ""},
		{"imap-refused", IMAP, func(c net.Conn, r *bufio.Reader) bool {
			io.WriteString(c, "* OK ready\r\n")
			r.ReadString('\n')
			io.WriteString(c, "a BAD no tls here\r\n")
			return true
		}, "refused"},
		{"pop3", POP3, chat("+OK pop3\r\n", "STLS", "+OK begin TLS\r\n"), ""},
		{"http-on-postgres", Postgres, func(c net.Conn, r *bufio.Reader) bool {
			io.ReadFull(r, make([]byte, 8))
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
			return true
		}, "preamble"},
		{"ssh-on-smtp", SMTP, func(c net.Conn, r *bufio.Reader) bool {
			io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
			return true
		}, "preamble"},
		{"overlong-pop3", POP3, func(c net.Conn, r *bufio.Reader) bool {
			io.WriteString(c, "+OK "+strings.Repeat("x", 2*maxLine)+"\r\n")
			return true
		}, "preamble"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok := make(chan bool, 1)
			next := make(chan string, 1)
			c := fakeServer(t, func(c net.Conn) {
				r := bufio.NewReader(c)
				good := tc.script(c, r)
				ok <- good
				if good && tc.want == "" {
					b := make([]byte, 5)
					io.ReadFull(r, b)
					next <- string(b)
				}
			})
			_, _, err := Negotiate(ctx(t), c, tc.proto, "chat.test")
			var re *RefusedError
			var pe *PreambleError
			switch tc.want {
			case "":
				if err != nil {
					t.Fatal(err)
				}
				if !<-ok {
					t.Fatal("the server saw an unexpected preamble")
				}
				io.WriteString(c, "HELLO")
				if got := <-next; got != "HELLO" {
					t.Errorf("after the preamble the server read %q, want HELLO", got)
				}
			case "refused":
				if !errors.As(err, &re) || !errors.Is(err, ErrRefused) || re.Protocol != tc.proto {
					t.Fatalf("err = %v, want a %s refusal", err, tc.proto)
				}
			case "preamble":
				if !errors.As(err, &pe) || pe.Reason() != "not_tls" || errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "set --starttls") {
					t.Fatalf("err = %v, want a %s PreambleError", err, tc.proto)
				}
			}
		})
	}
}

// TestCancelWithoutDeadline: a context cancelled while the server is silent
// ends the step even though neither ctx nor conn had a deadline.
func TestCancelWithoutDeadline(t *testing.T) {
	c := fakeServer(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	cx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { _, _, err := Negotiate(cx, c, IMAP, ""); done <- err }()
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err = %v, want the step aborted", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("cancel did not abort the preamble")
	}
}

// deadlineConn records the deadlines set on it.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (d *deadlineConn) SetDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return d.Conn.SetDeadline(t)
}

// TestDeadlineCleared: the context deadline bounds the preamble and does
// not stay on the conn afterwards.
func TestDeadlineCleared(t *testing.T) {
	c := fakeServer(t, func(c net.Conn) {
		io.ReadFull(c, make([]byte, 8))
		c.Write([]byte{'S'})
	})
	cx := ctx(t)
	dl, _ := cx.Deadline()
	dc := &deadlineConn{Conn: c}
	if _, _, err := Negotiate(cx, dc, Postgres, ""); err != nil {
		t.Fatal(err)
	}
	if len(dc.set) != 2 || !dc.set[0].Equal(dl) || !dc.set[1].IsZero() {
		t.Fatalf("deadlines set %v, want the context's %v then none", dc.set, dl)
	}
}
