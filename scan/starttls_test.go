package scan

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func line(r *bufio.Reader) string { s, _ := r.ReadString('\n'); return strings.TrimSpace(s) }

// chat is the server side of a line-based preamble: it writes greeting,
// then for each (want, reply) pair reads a line, checks it (equal to want,
// or starting with it when want ends with a space) and writes reply.
func chat(greeting string, exchanges ...string) func(c net.Conn, r *bufio.Reader) bool {
	return func(c net.Conn, r *bufio.Reader) bool {
		io.WriteString(c, greeting)
		for i := 0; i+1 < len(exchanges); i += 2 {
			want, got := exchanges[i], line(r)
			if got != want && !(strings.HasSuffix(want, " ") && strings.HasPrefix(got, want)) {
				return false
			}
			io.WriteString(c, exchanges[i+1])
		}
		return true
	}
}

func TestStartTLSProtocols(t *testing.T) {
	cert := newTestCert(t)
	servers := map[Protocol]string{
		ProtoSMTP: preambleServer(t, cert, nil, chat("220-mx.test ESMTP\r\n220 ready\r\n",
			"EHLO ", "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n", "STARTTLS", "220 go ahead\r\n")),
		ProtoIMAP: preambleServer(t, cert, nil, func(c net.Conn, r *bufio.Reader) bool {
			io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
			l := line(r)
			if !strings.HasSuffix(l, " STARTTLS") {
				return false
			}
			io.WriteString(c, "* BYE not really\r\n"+strings.Fields(l)[0]+" OK Begin TLS\r\n")
			return true
		}),
		ProtoPOP3: preambleServer(t, cert, nil, chat("+OK POP3 ready\r\n", "STLS", "+OK begin TLS\r\n")),
		ProtoFTP:  preambleServer(t, cert, nil, chat("220 FTP ready\r\n", "AUTH TLS", "234 AUTH TLS ok\r\n")),
		ProtoLDAP: preambleServer(t, cert, nil, func(c net.Conn, r *bufio.Reader) bool {
			req := make([]byte, 31)
			if _, err := io.ReadFull(r, req); err != nil || !bytes.Contains(req, []byte("1.3.6.1.4.1.1466.20037")) {
				return false
			}
			// ExtendedResponse: messageID 1, resultCode success, matchedDN "", diag "".
			c.Write([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00})
			return true
		}),
		ProtoXMPP: preambleServer(t, cert, nil, func(c net.Conn, r *bufio.Reader) bool {
			buf := make([]byte, 0, 512)
			for !bytes.HasSuffix(buf, []byte("version='1.0'>")) {
				b, err := r.ReadByte()
				if err != nil {
					return false
				}
				buf = append(buf, b)
			}
			if !bytes.Contains(buf, []byte("to='localhost'")) {
				return false
			}
			io.WriteString(c, "<?xml version='1.0'?><stream:stream from='localhost' id='1' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>")
			want := "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
			got := make([]byte, len(want))
			if _, err := io.ReadFull(r, got); err != nil || string(got) != want {
				return false
			}
			io.WriteString(c, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
			return true
		}),
		ProtoMySQL: preambleServer(t, cert, nil, func(c net.Conn, r *bufio.Reader) bool {
			// Protocol v10 greeting with CLIENT_SSL in the lower capabilities.
			body := []byte{10}
			body = append(body, "8.0.36\x00"...)
			body = append(body, 1, 0, 0, 0)    // thread id
			body = append(body, "abcdefgh"...) // auth data part 1
			body = append(body, 0)             // filler
			body = append(body, 0xff, 0xff)    // capabilities (lower), CLIENT_SSL set
			body = append(body, 33, 2, 0, 0xff, 0xc1, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
			body = append(body, "ijklmnopqrst\x00mysql_native_password\x00"...)
			c.Write(append([]byte{byte(len(body)), 0, 0, 0}, body...))
			req := make([]byte, 36)
			if _, err := io.ReadFull(r, req); err != nil || req[0] != 32 || req[3] != 1 || req[5]&0x08 == 0 {
				return false
			}
			return true
		}),
		ProtoPostgresDirect: preambleServer(t, cert, []string{"postgresql"}, nil),
	}
	for proto, addr := range servers {
		t.Run(string(proto), func(t *testing.T) {
			tg := target(t, addr)
			tg.ServerName = "localhost"
			tg.StartTLS = proto
			r, err := ScanOne(context.Background(), tg, Options{Enumerate: true, Timeout: 3 * time.Second, RootCAs: cert.pool})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != VerdictPQReady || r.StartTLS != proto || !r.ChainVerified {
				t.Fatalf("verdict %s (%s %s) starttls %s verified %v", r.Verdict, r.Reason, r.Error, r.StartTLS, r.ChainVerified)
			}
			if len(r.Groups) < 2 || r.Groups[0].Name != "X25519MLKEM768" || len(r.ProbeErrors) > 0 {
				t.Errorf("groups through the preamble: %v, probe errors %v", r.GroupNames(), r.ProbeErrors)
			}
			if proto == ProtoPostgresDirect && r.DefaultClient.ALPN != "postgresql" {
				t.Errorf("ALPN %q, want postgresql", r.DefaultClient.ALPN)
			}
		})
	}
	// The same server without its preamble is not TLS.
	tg := target(t, servers[ProtoSMTP])
	tg.StartTLS = ProtoNone
	if r, _ := ScanOne(context.Background(), tg, Options{Timeout: 2 * time.Second}); r.Verdict != VerdictNotTLS {
		t.Errorf("SMTP without STARTTLS: %s (%s)", r.Verdict, r.Error)
	}
}

func TestStartTLSRefusals(t *testing.T) {
	cert := newTestCert(t)
	noStartTLS := preambleServer(t, cert, nil, func(c net.Conn, r *bufio.Reader) bool {
		io.WriteString(c, "220 ready\r\n")
		line(r)
		io.WriteString(c, "250-mx\r\n250 PIPELINING\r\n")
		return false
	})
	httpOnPG := preambleServer(t, cert, nil, func(c net.Conn, r *bufio.Reader) bool {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
		return false
	})
	silent := listen(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) // reads, never answers
	// A PostgreSQL-like server answering 'N' to SSLRequest.
	pgNoSSL := listen(t, func(c net.Conn) {
		if _, err := io.ReadFull(c, make([]byte, 8)); err == nil {
			c.Write([]byte{'N'})
		}
	})
	for _, tc := range []struct {
		addr    string
		proto   Protocol
		want    Verdict
		errHint string // in Result.Error
	}{
		{noStartTLS, ProtoSMTP, VerdictNoTLS, ""},
		{httpOnPG, ProtoPostgres, VerdictNotTLS, ""},
		{silent, ProtoSMTP, VerdictTimeout, ""}, // no greeting: the preamble step times out
		{pgNoSSL, ProtoPostgres, VerdictNoTLS, "ssl=on"},
	} {
		tg := target(t, tc.addr)
		tg.StartTLS = tc.proto
		r, _ := ScanOne(context.Background(), tg, Options{Enumerate: true, Timeout: 500 * time.Millisecond, Retries: -1})
		if r.Verdict != tc.want || r.Connections != 1 || !strings.Contains(r.Error, tc.errHint) {
			t.Errorf("%s: %s (%s) after %d connections, want %s after 1 (error with %q)", tc.proto, r.Verdict, r.Error, r.Connections, tc.want, tc.errHint)
		}
	}
}

func TestProtocolByPort(t *testing.T) {
	for port, want := range map[int]Protocol{5432: ProtoPostgres, 3306: ProtoMySQL, 25: ProtoSMTP, 587: ProtoSMTP, 143: ProtoIMAP, 110: ProtoPOP3, 21: ProtoFTP, 389: ProtoLDAP, 5222: ProtoXMPP, 443: ProtoNone, 6379: ProtoNone} {
		if got := ProtoAuto.Resolve(port); got != want {
			t.Errorf("port %d: %s, want %s", port, got, want)
		}
	}
	if ProtoNone.Resolve(5432) != ProtoNone {
		t.Error("explicit none must win over the port")
	}
	if _, err := ParseProtocol("gopher"); err == nil || !strings.Contains(err.Error(), "postgres") {
		t.Errorf("unknown protocol error %v", err)
	}
}
