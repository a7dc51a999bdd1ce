package starttls

import (
	"bufio"
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
		sent, recv, err := Negotiate(ctx(t), c, "postgres")
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

func TestSMTP(t *testing.T) {
	c := fakeServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		_, _ = io.WriteString(c, "220 mx ESMTP\r\n")
		if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "EHLO") {
			return
		}
		_, _ = io.WriteString(c, "250-mx\r\n250 STARTTLS\r\n")
		if l, _ := r.ReadString('\n'); l != "STARTTLS\r\n" {
			return
		}
		_, _ = io.WriteString(c, "220 go ahead\r\n")
	})
	if _, _, err := Negotiate(ctx(t), c, "smtp"); err != nil {
		t.Fatal(err)
	}
}

func TestIMAPRefusedAndPOP3(t *testing.T) {
	c := fakeServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		_, _ = io.WriteString(c, "* OK ready\r\n")
		_, _ = r.ReadString('\n')
		_, _ = io.WriteString(c, "a BAD no tls here\r\n")
	})
	if _, _, err := Negotiate(ctx(t), c, "imap"); !errors.Is(err, ErrRefused) {
		t.Fatalf("imap: %v", err)
	}
	c = fakeServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		_, _ = io.WriteString(c, "+OK pop3\r\n")
		if l, _ := r.ReadString('\n'); l == "STLS\r\n" {
			_, _ = io.WriteString(c, "+OK begin TLS\r\n")
		}
	})
	if _, _, err := Negotiate(ctx(t), c, "pop3"); err != nil {
		t.Fatalf("pop3: %v", err)
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	c := fakeServer(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	cx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _, err := Negotiate(cx, c, "smtp")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestCheck(t *testing.T) {
	if Check("") != nil || Check("postgres") != nil || Check("ldap") == nil {
		t.Fatal("Check")
	}
}
