package bench

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// mtlsServer runs a TLS 1.3 server that requires a client certificate
// from ca (policy ClientAuth) and counts the connections it accepted.
func mtlsServer(t *testing.T, auth tls.ClientAuthType, noTickets ...bool) (addr string, ca *testpki.CA) {
	ca = testpki.NewCA(t)
	cfg := ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), true)
	cfg.ClientAuth = auth
	cfg.SessionTicketsDisabled = len(noTickets) > 0 && noTickets[0]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 5*time.Second, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if tc.Handshake() == nil {
			_, _ = io.Copy(tc, tc)
		}
	})
	return ln.Addr().String(), ca
}

// TestMTLSRefusalIsAnError: a TLS 1.3 server that requires a client
// certificate refuses it after the client's Finished; those handshakes are
// errors, not operations.
func TestMTLSRefusalIsAnError(t *testing.T) {
	addr, ca := mtlsServer(t, tls.RequireAndVerifyClientCert)
	noCert := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	res, err := Run(context.Background(), Options{Target: addr, TLS: noCert, Concurrency: 1, Count: 3, Duration: time.Second})
	if err == nil || res.Operations != 0 || res.Errors == 0 || res.ErrorReasons["alert_certificate_required"] == 0 {
		t.Fatalf("no client certificate: %d operations, errors %v, err %v", res.Operations, res.ErrorReasons, err)
	}
	// With a certificate the same server accepts every handshake.
	withCert := ca.ClientTLS("localhost", ca.Client(t, testpki.CertOptions{}))
	res, err = Run(context.Background(), Options{Target: addr, TLS: withCert, Concurrency: 2, Count: 6, Duration: 30 * time.Second})
	if err != nil || res.Operations != 6 || res.Errors != 0 {
		t.Fatalf("with a client certificate: %+v %v", res, err)
	}
	// A server that issues no session ticket: silence after the handshake
	// is acceptance too.
	quiet, ca3 := mtlsServer(t, tls.RequireAndVerifyClientCert, true)
	withCert3 := ca3.ClientTLS("localhost", ca3.Client(t, testpki.CertOptions{}))
	res, err = Run(context.Background(), Options{Target: quiet, TLS: withCert3, Concurrency: 1, Count: 3, Duration: 30 * time.Second})
	if err != nil || res.Operations != 3 || res.Errors != 0 {
		t.Fatalf("no session tickets, with a client certificate: %+v %v", res, err)
	}
	// A server that only asks for one accepts a client without.
	optional, ca2 := mtlsServer(t, tls.VerifyClientCertIfGiven)
	res, err = Run(context.Background(), Options{Target: optional, TLS: &tls.Config{RootCAs: ca2.Pool(), ServerName: "localhost"}, Concurrency: 1, Count: 3, Duration: 30 * time.Second})
	if err != nil || res.Operations != 3 || res.Errors != 0 {
		t.Fatalf("optional client certificate: %+v %v", res, err)
	}
}

// TestEchoModesNeedAnEcho: rr against a server that answers but does not
// echo fails before the run, saying why.
func TestEchoModesNeedAnEcho(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 0, func(c net.Conn) {
		_, _ = c.Read(make([]byte, 512))
		_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		_, _ = io.Copy(io.Discard, c)
	})
	for _, m := range []Mode{ModeRR, ModeThroughput, ModeIdle} {
		res, err := Run(context.Background(), Options{Target: ln.Addr().String(), Mode: m, Concurrency: 2, Duration: time.Minute})
		if err == nil || !strings.Contains(err.Error(), "does not echo") || res != nil {
			t.Errorf("%s against a non-echo server: %+v, %v", m, res, err)
		}
	}
}

// TestFailuresBackOff: against a server that closes every connection, the
// workers back off together instead of retrying every 10 ms each.
func TestFailuresBackOff(t *testing.T) {
	var b backoff
	var got []time.Duration
	for range 9 {
		got = append(got, b.next())
	}
	if got[0] != minBackoff || got[1] != 2*minBackoff || got[8] != maxBackoff {
		t.Errorf("backoff sequence %v", got)
	}
	if b.reset(); b.next() != minBackoff {
		t.Error("reset did not clear the backoff")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	testpeer.Serve(t, ln, 0, func(c net.Conn) { accepted.Add(1) })
	res, err := Run(context.Background(), Options{Target: ln.Addr().String(), TLS: &tls.Config{InsecureSkipVerify: true}, Concurrency: 8, Duration: time.Second})
	if err == nil || res.Errors == 0 {
		t.Fatalf("closing server: %+v %v", res, err)
	}
	// 8 workers sharing a backoff that reaches 1 s after 7 failures make
	// a few dozen attempts in a second; a fixed 10 ms pause made ~800.
	t.Logf("%d connections in 1 s, %d errors", accepted.Load(), res.Errors)
	if n := accepted.Load(); n > 100 {
		t.Errorf("%d connections in 1 s against a failing server: no backoff", n)
	}
}

// TestUnresolvableResolvedOnce: a name that does not resolve fails the run
// at once, after one lookup, instead of one lookup per attempt.
func TestUnresolvableResolvedOnce(t *testing.T) {
	res, lookups := testpeer.NXDomainResolver()
	r, err := Run(context.Background(), Options{Target: "nosuch.test:443", Resolver: res, Concurrency: 8, Duration: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "no such host") || r != nil {
		t.Fatalf("unresolvable: %+v %v", r, err)
	}
	if n := lookups.Load(); n == 0 || n > 8 {
		t.Errorf("%d DNS exchanges, want one lookup (A + AAAA)", n)
	}
}
