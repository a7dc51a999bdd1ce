package pqtls

import (
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
)

// A Dialer without Config is a programming error that must surface as an
// error saying what to do, never as a panic.
func TestDialerWithoutConfig(t *testing.T) {
	d := &Dialer{}
	client := &http.Client{Transport: d.HTTPTransport(), Timeout: 5 * time.Second}
	_, err := client.Get("https://127.0.0.1:1/")
	if err == nil || !strings.Contains(err.Error(), "pqtls.ClientConfig") {
		t.Fatalf("Get with a config-less Dialer = %v, want an error naming pqtls.ClientConfig", err)
	}
}

// TLS 1.3 resumption (PSK with (EC)DHE) still runs a key exchange: require
// mode must accept it on the hybrid group, and metrics and logs count the
// resumed handshake with its group.
func TestResumedHandshakeIsHybridAndCounted(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := startServer(t, Policy{Mode: ModeRequire}, cert)
	base := &tls.Config{RootCAs: pool, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	for i, wantResume := range []bool{false, true} {
		c, cm, err := clientDial(t, srv.ln.Addr().String(), Policy{Mode: ModeRequire}, base)
		if err != nil {
			t.Fatal(err)
		}
		echo(t, c) // reads the session ticket too
		cs := c.ConnectionState()
		if cs.DidResume != wantResume || cs.CurveID != tls.X25519MLKEM768 {
			t.Fatalf("handshake %d: resumed=%v group=%s, want resumed=%v on X25519MLKEM768", i, cs.DidResume, GroupName(cs.CurveID), wantResume)
		}
		if n := counter(t, cm.groups, "client", "x25519_mlkem768", "hybrid"); n != 1 {
			t.Fatalf("handshake %d: client group counter = %v, want 1", i, n)
		}
		c.Close()
	}
	waitFor(t, func() bool { return counter(t, srv.metrics.groups, "server", "x25519_mlkem768", "hybrid") == 2 })
	var resumed int
	for _, line := range strings.Split(strings.TrimSpace(srv.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "tls handshake" && rec["resumed"] == true && rec["group"] == "X25519MLKEM768" {
			resumed++
		}
	}
	if resumed != 1 {
		t.Fatalf("server logged %d resumed hybrid handshakes, want 1; logs:\n%s", resumed, srv.logs.String())
	}
}

// A TLS 1.2-only client against the default prefer server (TLS 1.3 minimum)
// is refused with reason protocol_version; with TLS 1.2 allowed it gets a
// classical group, counted as classical.
func TestTLS12ClientAgainstPreferServer(t *testing.T) {
	cert, pool := selfSigned(t)
	old := &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: tls.VersionTLS12}

	// prefer never breaks a link plain crypto/tls accepts: TLS 1.2 works by
	// default (classical, as it must be in TLS 1.2).
	srv := startServer(t, Policy{}, cert)
	conn, err := tls.Dial("tcp", srv.ln.Addr().String(), old)
	if err != nil {
		t.Fatalf("TLS 1.2 client refused by a default prefer server: %v", err)
	}
	defer conn.Close()
	echo(t, conn)
	if cs := conn.ConnectionState(); cs.Version != tls.VersionTLS12 || IsHybrid(cs.CurveID) || cs.CurveID == 0 {
		t.Fatalf("TLS 1.2 handshake: %s on %s", VersionName(cs.Version), GroupName(cs.CurveID))
	}
	waitFor(t, func() bool { return counter(t, srv.metrics.groups, "server", "x25519", "classical") == 1 })

	// An explicit TLS 1.3 minimum still refuses it, counted as protocol_version.
	srv13 := startServer(t, Policy{MinVersion: tls.VersionTLS13}, cert)
	if conn, err := tls.Dial("tcp", srv13.ln.Addr().String(), old); err == nil {
		conn.Close()
		t.Fatal("TLS 1.2 client accepted by a TLS 1.3-minimum server")
	}
	waitFor(t, func() bool { return counter(t, srv13.metrics.errors, "server", ReasonProtocolVersion) == 1 })
}

// The client's log line for a failed handshake names the server it dialed
// (crypto/tls reports no ServerName for a failed handshake).
func TestDialerFailureLogNamesServer(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := startServer(t, Policy{Mode: ModeClassical}, cert)
	logs := &testpeer.Buffer{}
	cfg, err := ClientConfig(Options{Policy: Policy{Mode: ModeRequire}, Base: &tls.Config{RootCAs: pool, ServerName: "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	d := &Dialer{Config: cfg, Observer: &Observer{Logger: slog.New(slog.NewJSONHandler(logs, nil))}, NoDiagnose: true}
	if _, err := d.Dial("tcp", srv.ln.Addr().String()); err == nil {
		t.Fatal("require client connected to a classical server")
	}
	if l := logs.String(); !strings.Contains(l, `"sni":"localhost"`) || !strings.Contains(l, `"reason":"policy_classical_peer"`) {
		t.Fatalf("client log line lacks the server name or reason: %s", l)
	}
}
