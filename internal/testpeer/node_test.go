package testpeer

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/testpki"
)

func TestInteropNodeServerGroups(t *testing.T) {
	srv := NodeServer(t, NodeServerOptions{Curves: "X25519MLKEM768:SecP256r1MLKEM768:SecP384r1MLKEM1024:X25519:P-256"})
	for _, id := range []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.X25519, tls.CurveP256} {
		t.Run(id.String(), func(t *testing.T) {
			cfg := srv.CA.ClientTLS("localhost", nil)
			cfg.CurvePreferences = []tls.CurveID{id}
			st, body, err := goDial(t, srv.Addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if st.CurveID != id {
				t.Errorf("Go client got %v, want %v", st.CurveID, id)
			}
			if body != "hello from node\n" {
				t.Errorf("body %q", body)
			}
			ev := srv.Next(t)
			if ev.Event != "handshake" || ev.GroupID != id || ev.Protocol != "TLSv1.3" || ev.HelloRetry {
				t.Errorf("node saw %+v, want group %v", ev, id)
			}
			if ev.ServerName != "localhost" {
				t.Errorf("SNI %q", ev.ServerName)
			}
		})
	}
}

func TestInteropNodeServerHelloRetryAndFailure(t *testing.T) {
	srv := NodeServer(t, NodeServerOptions{Curves: "SecP256r1MLKEM768"})
	// Go sends key shares for X25519MLKEM768 and X25519 only: HRR.
	cfg := srv.CA.ClientTLS("localhost", nil)
	cfg.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.SecP256r1MLKEM768}
	st, _, err := goDial(t, srv.Addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev := srv.Next(t)
	if !st.HelloRetryRequest || !ev.HelloRetry || ev.GroupID != tls.SecP256r1MLKEM768 {
		t.Errorf("go HRR %v group %v; node %+v", st.HelloRetryRequest, st.CurveID, ev)
	}
	if len(ev.KeyShares) != 2 || ev.KeyShares[0] != tls.X25519MLKEM768 {
		t.Errorf("node saw key shares %v", ev.KeyShares)
	}
	// No common group: the Go client gets an alert, Node reports an error.
	cfg = srv.CA.ClientTLS("localhost", nil)
	cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	if _, _, err := goDial(t, srv.Addr, cfg); err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Errorf("classical-only Go client: %v", err)
	}
	ev = srv.Next(t)
	if ev.Event != "error" || ev.Error == "" {
		t.Errorf("node saw %+v, want an error event", ev)
	}
}

func TestInteropNodeClientGroups(t *testing.T) {
	ca := testpki.NewCA(t)
	cfg := ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false)
	cfg.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.X25519, tls.CurveP256}
	addr, states := goServer(t, cfg)
	for _, tc := range []struct {
		curves    string
		want      tls.CurveID
		nodeName  string
		groupType string
	}{
		{"", tls.X25519MLKEM768, "X25519MLKEM768", "TLSGroup"}, // Node 26 default
		{"X25519MLKEM768", tls.X25519MLKEM768, "X25519MLKEM768", "TLSGroup"},
		{"SecP256r1MLKEM768", tls.SecP256r1MLKEM768, "SecP256r1MLKEM768", "TLSGroup"},
		{"SecP384r1MLKEM1024", tls.SecP384r1MLKEM1024, "SecP384r1MLKEM1024", "TLSGroup"},
		{"X25519", tls.X25519, "X25519", "ECDH"},
		{"P-256", tls.CurveP256, "prime256v1", "ECDH"},
	} {
		t.Run("curves="+tc.curves, func(t *testing.T) {
			res := NodeClient(t, addr, NodeClientOptions{Curves: tc.curves, CA: ca})
			st := <-states
			if !res.Connected || res.Error != "" {
				t.Fatalf("node client: %+v", res)
			}
			if res.Group != tc.nodeName || res.GroupType != tc.groupType || res.GroupID != tc.want {
				t.Errorf("node saw %q/%q/%v, want %q/%q/%v", res.Group, res.GroupType, res.GroupID, tc.nodeName, tc.groupType, tc.want)
			}
			if st.CurveID != tc.want {
				t.Errorf("go server saw %v, want %v", st.CurveID, tc.want)
			}
			if !res.Authorized || res.Response != "hello from go\n" || res.Protocol != "TLSv1.3" {
				t.Errorf("node result %+v", res)
			}
		})
	}
}

// TestInteropNodePureMLKEM covers MLKEM768, which Go cannot negotiate: Node
// talks to Node.
func TestInteropNodePureMLKEM(t *testing.T) {
	srv := NodeServer(t, NodeServerOptions{Curves: "MLKEM768"})
	res := NodeClient(t, srv.Addr, NodeClientOptions{Curves: "MLKEM768", CA: srv.CA})
	if res.Error != "" || res.Group != "MLKEM768" || res.GroupID != 0x0201 {
		t.Fatalf("node client %+v", res)
	}
	if ev := srv.Next(t); ev.GroupID != 0x0201 || ev.Group != "MLKEM768" {
		t.Errorf("node server %+v", ev)
	}
	// A Go client cannot: the server answers with handshake_failure.
	cfg := srv.CA.ClientTLS("localhost", nil)
	if _, _, err := goDial(t, srv.Addr, cfg); err == nil {
		t.Error("Go client negotiated with an MLKEM768-only server")
	}
}

func TestInteropNodeClientRefused(t *testing.T) {
	ca := testpki.NewCA(t)
	cfg := ca.ServerTLS(ca.Server(t, testpki.CertOptions{}), false)
	cfg.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768}
	addr, states := goServer(t, cfg)
	res := NodeClient(t, addr, NodeClientOptions{Curves: "X25519", CA: ca})
	<-states
	if res.Connected || res.Alert != 40 || res.AlertDescription != "handshake_failure" {
		t.Errorf("node client %+v, want alert 40", res)
	}
	// A server certificate from another CA is rejected by Node.
	res = NodeClient(t, addr, NodeClientOptions{CA: testpki.NewCA(t)})
	<-states
	if res.Connected || res.Error == "" {
		t.Errorf("node accepted an untrusted server: %+v", res)
	}
}

func TestInteropNodeClientCert(t *testing.T) {
	ca := testpki.NewCA(t)
	srv := NodeServer(t, NodeServerOptions{Cert: ca.Server(t, testpki.CertOptions{}), ClientCA: ca, RequestCert: true, RejectUnauthorized: true})
	res := NodeClient(t, srv.Addr, NodeClientOptions{CA: ca, Cert: ca.Client(t, testpki.CertOptions{CommonName: "svc-a"})})
	if res.Error != "" || res.Response != "hello from node\n" {
		t.Fatalf("node client %+v", res)
	}
	if ev := srv.Next(t); !ev.Authorized || ev.PeerCN != "svc-a" {
		t.Errorf("node server %+v", ev)
	}
	// Without a certificate the server refuses (TLS 1.3: after the client's
	// handshake completes, so the client sees the alert on read).
	res = NodeClient(t, srv.Addr, NodeClientOptions{CA: ca})
	if res.Response != "" || res.Error == "" {
		t.Errorf("node client without cert: %+v", res)
	}
	if ev := srv.Next(t); ev.Event != "error" {
		t.Errorf("node server %+v", ev)
	}
}

// TestInteropNodeTLS12 checks the TLS 1.2 path: the group comes from the
// ServerKeyExchange in the trace, on both sides.
func TestInteropNodeTLS12(t *testing.T) {
	srv := NodeServer(t, NodeServerOptions{MaxVersion: "TLSv1.2", Curves: "X25519:P-256"})
	res := NodeClient(t, srv.Addr, NodeClientOptions{CA: srv.CA, Curves: "P-256:X25519"})
	// OpenSSL's server picks by its own order in TLS 1.2: X25519.
	if res.Error != "" || res.Protocol != "TLSv1.2" || res.GroupID != tls.X25519 || res.Group != "X25519" {
		t.Errorf("node client %+v", res)
	}
	ev := srv.Next(t)
	if ev.Protocol != "TLSv1.2" || ev.GroupID != tls.X25519 || ev.HelloRetry || len(ev.Offered) != 2 || ev.Offered[0] != tls.CurveP256 {
		t.Errorf("node server %+v", ev)
	}
	cfg := srv.CA.ClientTLS("localhost", nil)
	cfg.CurvePreferences = []tls.CurveID{tls.CurveP256}
	if st, err := goHandshake(srv.Addr, cfg); err != nil || st.Version != tls.VersionTLS12 || st.CurveID != tls.CurveP256 {
		t.Errorf("go client: %v %x %v", st.CurveID, st.Version, err)
	}
	if ev := srv.Next(t); ev.GroupID != tls.CurveP256 {
		t.Errorf("node server %+v", ev)
	}
}

func TestInteropNodeEcho(t *testing.T) {
	srv := NodeServer(t, NodeServerOptions{Echo: true})
	msg := strings.Repeat("pqtls-echo ", 1000)
	res := NodeClient(t, srv.Addr, NodeClientOptions{CA: srv.CA, Send: msg})
	if res.Error != "" || res.Response != msg || res.GroupID != tls.X25519MLKEM768 {
		t.Errorf("echo: error %q, %d bytes back, group %v", res.Error, len(res.Response), res.GroupID)
	}
	if ev := srv.Next(t); ev.GroupID != tls.X25519MLKEM768 {
		t.Errorf("node server %+v", ev)
	}
}
