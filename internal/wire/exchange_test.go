package wire

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
)

// startRawServer runs handler for each connection on 127.0.0.1.
func startRawServer(t *testing.T, handler func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 0, func(c net.Conn) { handler(c.(*net.TCPConn)) })
	return ln.Addr().String()
}

func hybridHello(t *testing.T) *ClientHello {
	ch := NewClientHello13("localhost")
	ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519}
	ch.KeyShares = mustShares(t, tls.X25519MLKEM768, tls.X25519)
	return ch
}

// singleReadServer reproduces the "one read()" middlebox bug: it reads once
// and resets the connection when the ClientHello record is incomplete,
// otherwise it answers with a handshake_failure alert.
func singleReadServer(c *net.TCPConn) {
	buf := make([]byte, 64<<10)
	n, _ := c.Read(buf)
	if n < RecordHeaderLen || n < RecordHeaderLen+int(buf[3])<<8|int(buf[4]) {
		c.SetLinger(0)
		return
	}
	c.Write(rec(ContentAlert, []byte{2, 40}))
}

func TestExchangeOutcomes(t *testing.T) {
	goSrv := startGoServer(t, &tls.Config{})
	cases := []struct {
		name    string
		addr    string
		opts    ExchangeOptions
		timeout time.Duration
		want    Outcome
		check   func(t *testing.T, r *ExchangeResult)
	}{
		{"go server", goSrv.addr, ExchangeOptions{}, 0, OutcomeServerHello, func(t *testing.T, r *ExchangeResult) {
			if r.ServerHello.SelectedGroup != tls.X25519MLKEM768 || r.Writes != 1 {
				t.Fatalf("group %v writes %d", r.ServerHello.SelectedGroup, r.Writes)
			}
		}},
		{"go server, record fragments and TCP segments", goSrv.addr,
			ExchangeOptions{RecordFragments: []int{100, 200}, Segments: []int{3, 500}, Pause: 20 * time.Millisecond}, 0, OutcomeServerHello,
			func(t *testing.T, r *ExchangeResult) {
				if r.Writes != 3 || r.BytesSent != len(r.Sent) || len(r.Sent) < 1400 {
					t.Fatalf("writes %d, sent %d of %d", r.Writes, r.BytesSent, len(r.Sent))
				}
			}},
		{"single read server, one write", startRawServer(t, singleReadServer), ExchangeOptions{}, 0, OutcomeAlert, func(t *testing.T, r *ExchangeResult) {
			if r.Alert.Description != AlertHandshakeFailure || r.BytesReceived != 7 {
				t.Fatalf("alert %v, received %d", r.Alert, r.BytesReceived)
			}
		}},

		{"http", startRawServer(t, func(c *net.TCPConn) {
			c.Read(make([]byte, 4096))
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
		}), ExchangeOptions{}, 0, OutcomeNotTLS, func(t *testing.T, r *ExchangeResult) {
			var nt *NotTLSError
			if !errors.As(r.Err, &nt) || nt.Protocol != "http" {
				t.Fatalf("error %v", r.Err)
			}
		}},
		{"ssh banner", startRawServer(t, func(c *net.TCPConn) {
			c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
			c.Read(make([]byte, 4096))
		}), ExchangeOptions{}, 0, OutcomeNotTLS, nil},
		{"random bytes", startRawServer(t, func(c *net.TCPConn) {
			c.Read(make([]byte, 4096))
			c.Write([]byte{0x9c, 0x01, 0xfe, 0x77, 0x00, 0x12, 0x44})
		}), ExchangeOptions{}, 0, OutcomeNotTLS, nil},
		{"close without answer", startRawServer(t, func(c *net.TCPConn) {
			c.Read(make([]byte, 4096))
		}), ExchangeOptions{}, 0, OutcomeEOF, nil},
		{"reset after hello", startRawServer(t, func(c *net.TCPConn) {
			c.Read(make([]byte, 4096))
			c.SetLinger(0)
		}), ExchangeOptions{}, 0, OutcomeReset, nil},
		{"silent", startRawServer(t, func(c *net.TCPConn) {
			io.Copy(io.Discard, c) // never answers; returns when the client closes
		}), ExchangeOptions{}, 200 * time.Millisecond, OutcomeTimeout, nil},
		{"garbage server hello", startRawServer(t, func(c *net.TCPConn) {
			c.Read(make([]byte, 4096))
			c.Write(rec(ContentHandshake, hsMsg(TypeServerHello, []byte{3, 3, 0})))
		}), ExchangeOptions{}, 0, OutcomeMalformed, nil},
		{"endless change_cipher_spec", startRawServer(t, func(c *net.TCPConn) {
			// A hostile server trickles CCS records to hold the probe: it
			// is cut off at the cap, not at the deadline.
			c.Read(make([]byte, 4096))
			for i := 0; i < 10000; i++ {
				if _, err := c.Write(rec(ContentChangeCipherSpec, []byte{1})); err != nil {
					return
				}
			}
		}), ExchangeOptions{}, 0, OutcomeMalformed, func(t *testing.T, r *ExchangeResult) {
			if r.Records != DefaultMaxChangeCipherSpec {
				t.Fatalf("%d records read, want the cap %d", r.Records, DefaultMaxChangeCipherSpec)
			}
		}},
		{"certificate first", startRawServer(t, func(c *net.TCPConn) {
			c.Read(make([]byte, 4096))
			c.Write(rec(ContentHandshake, hsMsg(TypeCertificate, []byte{0, 0, 0})))
		}), ExchangeOptions{}, 0, OutcomeMalformed, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn := dialTest(t, tc.addr)
			if tc.timeout > 0 {
				conn.SetDeadline(time.Now().Add(tc.timeout))
			}
			res, err := Exchange(context.Background(), conn, hybridHello(t), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.want {
				t.Fatalf("outcome %s (err %v, alert %v), want %s", res.Outcome, res.Err, res.Alert, tc.want)
			}
			if (res.Err != nil) != (tc.want != OutcomeServerHello && tc.want != OutcomeHelloRetryRequest && tc.want != OutcomeAlert) {
				t.Fatalf("Err = %v for outcome %s", res.Err, res.Outcome)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

// gatedConn holds every Write after the first until the server has read
// once, so the single-read test does not depend on scheduling.
type gatedConn struct {
	net.Conn
	writes int
	gate   <-chan struct{}
}

func (g *gatedConn) Write(p []byte) (int, error) {
	if g.writes++; g.writes > 1 {
		select {
		case <-g.gate:
		case <-time.After(5 * time.Second):
		}
	}
	return g.Conn.Write(p)
}

// TestExchangeSplitSingleRead: the hello split in two TCP writes breaks a
// server that reads once (the "tldr.fail" class): a reset.
func TestExchangeSplitSingleRead(t *testing.T) {
	firstRead := make(chan struct{})
	addr := startRawServer(t, func(c *net.TCPConn) {
		buf := make([]byte, 64<<10)
		n, _ := c.Read(buf)
		close(firstRead)
		if n < RecordHeaderLen || n < RecordHeaderLen+int(buf[3])<<8|int(buf[4]) {
			c.SetLinger(0)
			return
		}
		c.Write(rec(ContentAlert, []byte{2, 40}))
	})
	conn := &gatedConn{Conn: dialTest(t, addr), gate: firstRead}
	res, err := Exchange(t.Context(), conn, hybridHello(t), ExchangeOptions{Segments: []int{700}, Pause: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeReset || res.Writes != 2 {
		t.Fatalf("outcome %s after %d writes (%v), want reset after 2", res.Outcome, res.Writes, res.Err)
	}
}

func TestExchangeContextCancel(t *testing.T) {
	addr := startRawServer(t, func(c *net.TCPConn) {
		io.Copy(io.Discard, c) // never answers; returns when the client closes
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res, err := Exchange(ctx, dialTest(t, addr), hybridHello(t), ExchangeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeTimeout || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("outcome %s err %v, want timeout wrapping context.Canceled", res.Outcome, res.Err)
	}
}

func TestExchangeBadOptions(t *testing.T) {
	conn := dialTest(t, startRawServer(t, func(c *net.TCPConn) {}))
	if _, err := Exchange(context.Background(), conn, hybridHello(t), ExchangeOptions{Segments: []int{5000}}); err == nil {
		t.Error("segment larger than the hello: want an error")
	}
	if _, err := Exchange(context.Background(), conn, hybridHello(t), ExchangeOptions{RecordFragments: []int{0}}); err == nil {
		t.Error("zero record fragment: want an error")
	}
	bad := hybridHello(t)
	bad.PSKModes = nil
	if _, err := Exchange(context.Background(), conn, bad, ExchangeOptions{}); !errors.Is(err, ErrInvalidClientHello) {
		t.Errorf("invalid hello: %v", err)
	}
}

func TestExchangeWithRetry(t *testing.T) {
	srv := startGoServer(t, &tls.Config{})
	// Canary case 6: hybrid advertised, only a classical share sent.
	ch := NewClientHello13("localhost")
	ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519}
	ch.KeyShares = mustShares(t, tls.X25519)
	first, final, err := ExchangeWithRetry(t.Context(), dialTest(t, srv.addr), ch, ExchangeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Outcome != OutcomeHelloRetryRequest || final.Outcome != OutcomeServerHello || final.ServerHello.SelectedGroup != tls.X25519MLKEM768 {
		t.Fatalf("first %s final %s (%v)", first.Outcome, final.Outcome, final.Err)
	}
	if first == final || first.Elapsed <= 0 || final.Elapsed <= 0 {
		t.Fatal("want two distinct timed exchanges")
	}
	// No retry needed: final is first.
	ch.KeyShares = mustShares(t, tls.X25519MLKEM768)
	first, final, err = ExchangeWithRetry(t.Context(), dialTest(t, srv.addr), ch, ExchangeOptions{})
	if err != nil || first != final || final.Outcome != OutcomeServerHello {
		t.Fatalf("direct ServerHello: %v %v", err, final.Outcome)
	}
	// A HelloRetryRequest for a group we did not offer is not followed.
	bad := startRawServer(t, func(c *net.TCPConn) {
		c.Read(make([]byte, 4096))
		c.Write(rec(ContentHandshake, shSpec{version: VersionTLS12, random: helloRetryRequestRandom, sid: ch.SessionID, suite: 0x1301,
			exts: []Extension{{ExtSupportedVersions, u16(VersionTLS13)}, {ExtKeyShare, u16(0x0017)}}}.bytes()))
	})
	_, final, err = ExchangeWithRetry(t.Context(), dialTest(t, bad), ch, ExchangeOptions{})
	if err != nil || final.Outcome != OutcomeMalformed {
		t.Fatalf("HRR for an unoffered group: %v %s", err, final.Outcome)
	}
}
