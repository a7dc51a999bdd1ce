package pqtls_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
	"github.com/prometheus/client_golang/prometheus"
)

// Interop with peers nobody on this team wrote: Node.js 26 (OpenSSL 3.5) as
// client and server, and headless Chromium (BoringSSL) as client, against
// pqtls configs (nginx 1.26 from the Debian 13 tree: pqtls_deb13_interop_test.go).
// Each test also checks the metrics pqtls counted.

type interopServer struct {
	addr string
	reg  *prometheus.Registry
	logs *testpeer.Buffer
}

// startPQServer serves "hello over GROUP\n" on each connection, or HTTP when
// httpMode is set.
func startPQServer(t *testing.T, cert *testpki.Cert, p pqtls.Policy, httpMode bool) *interopServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := pqtls.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testpeer.Buffer{}
	cfg, err := pqtls.ServerConfig(pqtls.Options{Policy: p, Base: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := pqtls.Listen("tcp", "127.0.0.1:0", cfg, pqtls.ListenerOptions{HandshakeTimeout: 10 * time.Second,
		Observer: &pqtls.Observer{Metrics: m, Logger: slog.New(slog.NewTextHandler(logs, nil))}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if httpMode {
		srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "<html><body><p id=g>hello over %s</p></body></html>", pqtls.GroupName(r.TLS.CurveID))
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	} else {
		testpeer.Serve(t, ln, 0, func(c net.Conn) {
			fmt.Fprintf(c, "hello over %s\n", pqtls.GroupName(c.(*tls.Conn).ConnectionState().CurveID))
		})
	}
	return &interopServer{addr: ln.Addr().String(), reg: reg, logs: logs}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func groupCount(t *testing.T, reg *prometheus.Registry, role string, id tls.CurveID) float64 {
	return testpeer.Value(t, reg, pqtls.MetricGroupTotal, map[string]string{"role": role, "group": pqtls.GroupLabel(id), "kind": string(pqtls.GroupKind(id))})
}

// TestInteropNodeClientToPQServer: Node.js 26 clients with several ecdhCurve
// lists against pqtls servers.
func TestInteropNodeClientToPQServer(t *testing.T) {
	testpeer.Require(t, "node")
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})
	withP384 := pqtls.Policy{Groups: []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.X25519, tls.CurveP256}}
	cases := []struct {
		name   string
		policy pqtls.Policy
		curves string
		want   tls.CurveID
	}{
		{"node default vs prefer", pqtls.Policy{}, "", tls.X25519MLKEM768},
		{"node default vs require", pqtls.Policy{Mode: pqtls.ModeRequire}, "", tls.X25519MLKEM768},
		{"node SecP256r1MLKEM768 only", pqtls.Policy{}, "SecP256r1MLKEM768", tls.SecP256r1MLKEM768},
		{"node SecP384r1MLKEM1024 only", withP384, "SecP384r1MLKEM1024", tls.SecP384r1MLKEM1024},
		{"node classical vs prefer", pqtls.Policy{}, "X25519:P-256", tls.X25519},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startPQServer(t, cert, tc.policy, false)
			res := testpeer.NodeClient(t, srv.addr, testpeer.NodeClientOptions{Curves: tc.curves, CA: ca})
			if !res.Connected || res.GroupID != tc.want {
				t.Fatalf("node: connected=%v group=%q (%#04x) err=%q, want %s", res.Connected, res.Group, uint16(res.GroupID), res.Error, pqtls.GroupName(tc.want))
			}
			if !strings.Contains(res.Response, "hello over "+pqtls.GroupName(tc.want)) {
				t.Errorf("server saw a different group: %q", res.Response)
			}
			eventually(t, "server metric", func() bool { return groupCount(t, srv.reg, "server", tc.want) == 1 })
		})
	}
}

// TestInteropRequireServerRefusesNodeClassicalClient: a Node client that
// offers only classical groups gets a handshake_failure alert; pqtls counts
// policy_classical_peer and logs the peer.
func TestInteropRequireServerRefusesNodeClassicalClient(t *testing.T) {
	testpeer.Require(t, "node")
	ca := testpki.NewCA(t)
	srv := startPQServer(t, ca.Server(t, testpki.CertOptions{}), pqtls.Policy{Mode: pqtls.ModeRequire}, false)
	res := testpeer.NodeClient(t, srv.addr, testpeer.NodeClientOptions{Curves: "X25519:P-256", CA: ca})
	if res.Connected {
		t.Fatalf("classical Node client connected with %s", res.Group)
	}
	if res.AlertDescription != "handshake_failure" {
		t.Errorf("node got alert %q (%s), want handshake_failure", res.AlertDescription, res.Error)
	}
	eventually(t, "policy error metric", func() bool {
		return testpeer.Value(t, srv.reg, pqtls.MetricErrorsTotal, map[string]string{"role": "server", "reason": pqtls.ReasonPolicyClassicalPeer}) == 1
	})
	if n := testpeer.Value(t, srv.reg, pqtls.MetricGroupTotal, map[string]string{"role": "server", "group": "x25519", "kind": "classical"}); n != 0 {
		t.Errorf("a classical handshake was counted as completed: %v", n)
	}
	eventually(t, "log line", func() bool {
		l := srv.logs.String()
		return strings.Contains(l, "refused classical-only client 127.0.0.1:") && strings.Contains(l, "it offered x25519, secp256r1")
	})
}

func pqDial(t *testing.T, addr string, ca *testpki.CA, p pqtls.Policy) (*tls.Conn, *prometheus.Registry, error) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, _ := pqtls.NewMetrics(reg)
	cfg, err := pqtls.ClientConfig(pqtls.Options{Policy: p, Base: &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	d := &pqtls.Dialer{Config: cfg, Observer: &pqtls.Observer{Metrics: m}, HandshakeTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, reg, err
	}
	t.Cleanup(func() { c.Close() })
	return c.(*tls.Conn), reg, nil
}

// TestInteropPQClientToNodeServer: pqtls clients against Node.js 26 servers.
func TestInteropPQClientToNodeServer(t *testing.T) {
	testpeer.Require(t, "node")
	withP384 := pqtls.Policy{Groups: []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.X25519}}
	cases := []struct {
		name    string
		curves  string
		policy  pqtls.Policy
		want    tls.CurveID
		wantHRR bool
	}{
		{"node default", "", pqtls.Policy{}, tls.X25519MLKEM768, false},
		{"node SecP256r1MLKEM768 only", "SecP256r1MLKEM768", pqtls.Policy{}, tls.SecP256r1MLKEM768, true},
		{"node SecP384r1MLKEM1024 only", "SecP384r1MLKEM1024", withP384, tls.SecP384r1MLKEM1024, true},
		// Go sends an x25519 share beside its hybrid one: no HRR needed.
		{"node classical, pqtls prefer", "X25519:P-256", pqtls.Policy{}, tls.X25519, false},
		{"node default, pqtls require", "", pqtls.Policy{Mode: pqtls.ModeRequire}, tls.X25519MLKEM768, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			node := testpeer.NodeServer(t, testpeer.NodeServerOptions{Curves: tc.curves})
			c, reg, err := pqDial(t, node.Addr, node.CA, tc.policy)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			cs := c.ConnectionState()
			if cs.CurveID != tc.want || cs.HelloRetryRequest != tc.wantHRR {
				t.Fatalf("negotiated %s hrr=%v, want %s hrr=%v", pqtls.GroupName(cs.CurveID), cs.HelloRetryRequest, pqtls.GroupName(tc.want), tc.wantHRR)
			}
			ev := node.Next(t)
			if ev.Event != "handshake" || ev.GroupID != tc.want {
				t.Fatalf("node saw %+v, want a handshake on %s", ev, pqtls.GroupName(tc.want))
			}
			if got := groupCount(t, reg, "client", tc.want); got != 1 {
				t.Errorf("client group metric = %v", got)
			}
			hrr := testpeer.Value(t, reg, pqtls.MetricHelloRetryTotal, map[string]string{"role": "client", "group": pqtls.GroupLabel(tc.want)})
			if (hrr == 1) != tc.wantHRR {
				t.Errorf("client HRR metric = %v, want HRR %v", hrr, tc.wantHRR)
			}
		})
	}
}

// TestInteropRequireClientRefusesNodeClassicalServer: a require-mode pqtls
// client names the classical group a Node server selects.
func TestInteropRequireClientRefusesNodeClassicalServer(t *testing.T) {
	testpeer.Require(t, "node")
	node := testpeer.NodeServer(t, testpeer.NodeServerOptions{Curves: "X25519:P-256"})
	_, reg, err := pqDial(t, node.Addr, node.CA, pqtls.Policy{Mode: pqtls.ModeRequire})
	var perr *pqtls.PolicyError
	if !errors.As(err, &perr) {
		t.Fatalf("want *pqtls.PolicyError, got %v", err)
	}
	if len(perr.Offered) != 1 || perr.Offered[0] != tls.X25519 || !strings.Contains(err.Error(), "classical-only") {
		t.Fatalf("error does not name the server's x25519: %v", err)
	}
	if got := testpeer.Value(t, reg, pqtls.MetricErrorsTotal, map[string]string{"role": "client", "reason": pqtls.ReasonPolicyClassicalPeer}); got != 1 {
		t.Errorf("client policy metric = %v", got)
	}
}

// TestInteropChromiumToPQServer: headless Chromium (BoringSSL) loads a page
// from a require-mode pqtls HTTPS server over X25519MLKEM768.
func TestInteropChromiumToPQServer(t *testing.T) {
	testpeer.Require(t, "chromium")
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})
	srv := startPQServer(t, cert, pqtls.Policy{Mode: pqtls.ModeRequire}, true)
	body, err := testpeer.ChromiumFetch(t, "https://"+srv.addr+"/", testpeer.ChromiumOptions{Trust: []*testpki.Cert{cert}})
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if !strings.Contains(body, "hello over X25519MLKEM768") {
		t.Fatalf("page body %q", body)
	}
	eventually(t, "server metric", func() bool { return groupCount(t, srv.reg, "server", tls.X25519MLKEM768) >= 1 })
	if n := testpeer.Value(t, srv.reg, pqtls.MetricErrorsTotal, map[string]string{"role": "server", "reason": pqtls.ReasonPolicyClassicalPeer}); n != 0 {
		t.Errorf("chromium was refused %v times", n)
	}
}

// TestInteropServerHelloRetryCounted: a Node.js client that sends only an
// x25519 key share but also supports SecP256r1MLKEM768 meets a require-mode
// server: the server asks again (HelloRetryRequest), the handshake ends on
// the hybrid, and the HRR is counted on the server with that group.
func TestInteropServerHelloRetryCounted(t *testing.T) {
	testpeer.Require(t, "node")
	ca := testpki.NewCA(t)
	srv := startPQServer(t, ca.Server(t, testpki.CertOptions{}), pqtls.Policy{Mode: pqtls.ModeRequire}, false)
	res := testpeer.NodeClient(t, srv.addr, testpeer.NodeClientOptions{Curves: "X25519:SecP256r1MLKEM768", CA: ca})
	if !res.Connected || res.GroupID != tls.SecP256r1MLKEM768 {
		t.Fatalf("node: connected=%v group=%q err=%q, want SecP256r1MLKEM768", res.Connected, res.Group, res.Error)
	}
	eventually(t, "server metrics", func() bool { return groupCount(t, srv.reg, "server", tls.SecP256r1MLKEM768) == 1 })
	labels := map[string]string{"role": "server", "group": pqtls.GroupLabel(tls.SecP256r1MLKEM768)}
	if n := testpeer.Value(t, srv.reg, pqtls.MetricHelloRetryTotal, labels); n != 1 {
		t.Fatalf("server HRR metric = %v, want 1", n)
	}
	if !strings.Contains(srv.logs.String(), "hrr=true") {
		t.Errorf("the handshake log line does not show the HRR:\n%s", srv.logs.String())
	}
}

// TestInteropNodeTLS12ClientAgainstPrefer: a TLS 1.2-only Node.js client is
// refused by a default pqtls server (TLS 1.3 minimum: the hybrids exist only
// in TLS 1.3) with reason protocol_version, and gets classical x25519,
// counted as classical, when the server allows TLS 1.2.
func TestInteropNodeTLS12ClientAgainstPrefer(t *testing.T) {
	testpeer.Require(t, "node")
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})

	// prefer (default) accepts a TLS 1.2-only peer, as plain Go does.
	srv := startPQServer(t, cert, pqtls.Policy{}, false)
	res := testpeer.NodeClient(t, srv.addr, testpeer.NodeClientOptions{CA: ca, MaxVersion: "TLSv1.2"})
	if !res.Connected || res.GroupID != tls.X25519 {
		t.Fatalf("TLS 1.2 Node client vs default prefer: connected=%v group=%q err=%q, want x25519", res.Connected, res.Group, res.Error)
	}
	eventually(t, "classical metric", func() bool { return groupCount(t, srv.reg, "server", tls.X25519) == 1 })
	if !strings.Contains(srv.logs.String(), `version="TLS 1.2"`) {
		t.Errorf("log line does not show TLS 1.2:\n%s", srv.logs.String())
	}

	// An explicit TLS 1.3 minimum refuses it.
	srv13 := startPQServer(t, cert, pqtls.Policy{MinVersion: tls.VersionTLS13}, false)
	res = testpeer.NodeClient(t, srv13.addr, testpeer.NodeClientOptions{CA: ca, MaxVersion: "TLSv1.2"})
	if res.Connected {
		t.Fatalf("TLS 1.2 Node client connected to a TLS 1.3-minimum server on %s", res.Group)
	}
	eventually(t, "protocol_version metric", func() bool {
		return testpeer.Value(t, srv13.reg, pqtls.MetricErrorsTotal, map[string]string{"role": "server", "reason": pqtls.ReasonProtocolVersion}) == 1
	})
}
