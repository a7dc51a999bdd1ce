package pqtls

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// flakyListener fails its first Accept calls with err, then accepts for real.
type flakyListener struct {
	net.Listener
	failures atomic.Int32
	err      error
}

func (f *flakyListener) Accept() (net.Conn, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, f.err
	}
	return f.Listener.Accept()
}

// Running out of file descriptors is a temporary condition: the listener must
// back off and keep serving, not shut down (net/http's Server does the same).
func TestListenerSurvivesTemporaryAcceptErrors(t *testing.T) {
	cfg, pool := defaultServer(t)
	for _, accErr := range []error{
		&net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)},
		&net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)},
	} {
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		fl := &flakyListener{Listener: inner, err: accErr}
		fl.failures.Store(3)
		ln := NewListener(fl, cfg, ListenerOptions{HandshakeTimeout: 5 * time.Second})
		go func() {
			raw, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
			if err != nil {
				return
			}
			defer raw.Close()
			_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
			c := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "localhost"})
			_ = c.Handshake()
			_, _ = c.Read(make([]byte, 1))
		}()
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("after %v: Accept = %v, want the next connection", accErr, err)
		}
		c.Close()
		ln.Close()
	}
}

// A connection Accept has handed out belongs to the caller: closing the
// Listener (http.Server.Shutdown does that first) must not close it.
func TestListenerCloseKeepsAcceptedConnections(t *testing.T) {
	cfg, pool := defaultServer(t)
	for i := 0; i < 20; i++ {
		ln, err := Listen("tcp", "127.0.0.1:0", cfg, ListenerOptions{HandshakeTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		clientc := make(chan *tls.Conn, 1)
		go func() {
			c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
			if err != nil {
				clientc <- nil
				return
			}
			clientc <- c
		}()
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		ln.Close() // immediately: the handshake goroutine may still be winding down
		cc := <-clientc
		if cc == nil {
			t.Fatal("client handshake failed")
		}
		_ = sc.SetDeadline(time.Now().Add(5 * time.Second))
		_ = cc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := cc.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := sc.Read(make([]byte, 1)); err != nil {
			t.Fatalf("iteration %d: accepted connection unusable after Listener.Close: %v", i, err)
		}
		sc.Close()
		cc.Close()
	}
}

// Every failed handshake is counted once with a bounded reason and its
// connection closed; Accept never returns it; a good client still gets through.
func TestListenerFailedHandshakesAreCountedAndClosed(t *testing.T) {
	cert, pool := selfSigned(t)
	reg := prometheus.NewRegistry()
	m, _ := NewMetrics(reg)
	cfg, _ := ServerConfig(Options{Policy: Policy{Mode: ModeRequire}, Base: &tls.Config{Certificates: []tls.Certificate{cert}}})
	ln, err := Listen("tcp", "127.0.0.1:0", cfg, ListenerOptions{HandshakeTimeout: 5 * time.Second, Observer: &Observer{Metrics: m}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	// A classical client, then a client that hangs up mid-hello.
	_, err = tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost", CurvePreferences: []tls.CurveID{tls.X25519}})
	if err == nil {
		t.Fatal("classical client was accepted by a require listener")
	}
	raw, _ := net.Dial("tcp", ln.Addr().String())
	_, _ = raw.Write([]byte{22, 3, 1, 0, 200, 1}) // a truncated ClientHello record
	raw.Close()
	waitFor(t, func() bool {
		return counter(t, m.errors, "server", ReasonPolicyClassicalPeer) == 1 && counter(t, m.errors, "server", ReasonEOF) == 1
	})
	good, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	select {
	case c := <-accepted:
		defer c.Close()
		if got := c.(*tls.Conn).ConnectionState().CurveID; got != tls.X25519MLKEM768 {
			t.Fatalf("Accept returned a connection on %s, want the hybrid one", GroupName(got))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the good client was never accepted")
	}
	select {
	case c, ok := <-accepted:
		if ok {
			t.Fatalf("Accept returned a second connection %v: a failed handshake leaked through", c.RemoteAddr())
		}
	default:
	}
	if n := counter(t, m.groups, "server", "x25519_mlkem768", "hybrid"); n != 1 {
		t.Fatalf("group counter = %v, want 1", n)
	}
	if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatal(err)
	}
}

// A nil *tls.Config is a programming error reported by Listen and Accept,
// not a panic in a handshake goroutine.
func TestListenerNilConfig(t *testing.T) {
	if _, err := Listen("tcp", "127.0.0.1:0", nil, ListenerOptions{}); err == nil || !strings.Contains(err.Error(), "ServerConfig") {
		t.Fatalf("Listen with nil config = %v, want an error naming ServerConfig", err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewListener(inner, nil, ListenerOptions{})
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err == nil {
		defer c.Close()
		_, _ = c.Write([]byte{22, 3, 1, 0, 1, 1})
	}
	if _, err := ln.Accept(); err == nil || !strings.Contains(err.Error(), "ServerConfig") {
		t.Fatalf("Accept with nil config = %v, want an error naming ServerConfig", err)
	}
}
