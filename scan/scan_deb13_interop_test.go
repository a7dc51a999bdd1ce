package scan

import (
	"slices"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// deb13Case is one real server of the Debian 13 tree (OpenSSL 3.5) with one
// group configuration, and what the scan must report: the exact group set
// in server preference order, the order kind, and the default client's group.
type deb13Case struct {
	server  string // "nginx" | "haproxy" | "s_server"
	groups  string // ssl_ecdh_curve | curves | -groups; "" = default
	pref    bool   // s_server -serverpref
	verdict Verdict
	want    []string // exact Groups in server preference order
	order   string   // GroupOrder
	dflt    string   // default Go client's group ("" = cannot connect)
}

// OpenSSL 3.5's default list is "?*X25519MLKEM768 / ?*X25519:?secp256r1 /
// ?X448:?secp384r1:?secp521r1 / ?ffdhe2048:?ffdhe3072": the server prefers
// earlier tuples; inside a tuple it follows the client unless the server
// sets server preference (HAProxy does by default, s_server with
// -serverpref), so x448 moves before secp384r1 there.
var (
	deb13Default       = []string{"X25519MLKEM768", "x25519", "secp256r1", "secp384r1", "secp521r1", "x448", "ffdhe2048", "ffdhe3072"}
	deb13DefaultServer = []string{"X25519MLKEM768", "x25519", "secp256r1", "x448", "secp384r1", "secp521r1", "ffdhe2048", "ffdhe3072"}
	deb13Hybrids       = "X25519MLKEM768:SecP256r1MLKEM768:SecP384r1MLKEM1024:X25519"
	deb13PureMLKEM     = "MLKEM512:MLKEM768:MLKEM1024"
)

var deb13Cases = []deb13Case{
	{"nginx", "", false, VerdictPQReady, deb13Default, "server", "X25519MLKEM768"},
	{"nginx", "X25519:prime256v1", false, VerdictClassical, []string{"x25519", "secp256r1"}, "client", "x25519"},
	// The fix for the line above: a hybrid first.
	{"nginx", "X25519MLKEM768:X25519:prime256v1", false, VerdictPQReady, []string{"X25519MLKEM768", "x25519", "secp256r1"}, "client", "X25519MLKEM768"},
	{"nginx", deb13Hybrids, false, VerdictPQReady, []string{"X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "x25519"}, "client", "X25519MLKEM768"},
	{"nginx", deb13PureMLKEM, false, VerdictPQCapable, []string{"MLKEM512", "MLKEM768", "MLKEM1024"}, "client", ""},
	{"haproxy", "", false, VerdictPQReady, deb13DefaultServer, "server", "X25519MLKEM768"},
	{"haproxy", "X25519:P-256", false, VerdictClassical, []string{"x25519", "secp256r1"}, "server", "x25519"},
	{"haproxy", "X25519MLKEM768:X25519:P-256", false, VerdictPQReady, []string{"X25519MLKEM768", "x25519", "secp256r1"}, "server", "X25519MLKEM768"},
	{"haproxy", "X25519MLKEM768:X25519", false, VerdictPQReady, []string{"X25519MLKEM768", "x25519"}, "server", "X25519MLKEM768"},
	{"haproxy", deb13PureMLKEM, false, VerdictPQCapable, []string{"MLKEM512", "MLKEM768", "MLKEM1024"}, "server", ""},
	{"s_server", "", false, VerdictPQReady, deb13Default, "server", "X25519MLKEM768"},
	{"s_server", "", true, VerdictPQReady, deb13DefaultServer, "server", "X25519MLKEM768"},
	{"s_server", deb13Hybrids, true, VerdictPQReady, []string{"X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "x25519"}, "server", "X25519MLKEM768"},
	// A hybrid listed after X25519: a client-order server still gives the
	// default client the hybrid, a server-order one does not (pq_capable).
	{"s_server", "X25519:X25519MLKEM768", false, VerdictPQReady, []string{"X25519MLKEM768", "x25519"}, "client", "X25519MLKEM768"},
	{"s_server", "X25519:X25519MLKEM768", true, VerdictPQCapable, []string{"x25519", "X25519MLKEM768"}, "server", "x25519"},
	{"s_server", deb13PureMLKEM, true, VerdictPQCapable, []string{"MLKEM512", "MLKEM768", "MLKEM1024"}, "server", ""},
	{"s_server", "X25519:secp256r1:secp384r1", true, VerdictClassical, []string{"x25519", "secp256r1", "secp384r1"}, "server", "x25519"},
}

// startDeb13 starts one case's server and returns its address and CA.
func startDeb13(t *testing.T, d *testpeer.Debian13, c deb13Case) (string, *testpki.CA) {
	t.Helper()
	switch c.server {
	case "nginx":
		n := d.Nginx(t, testpeer.NginxOptions{ECDHCurve: c.groups})
		return n.Addr, n.CA
	case "haproxy":
		h := d.HAProxy(t, testpeer.HAProxyOptions{Curves: c.groups})
		return h.Addr, h.CA
	}
	s := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Groups: c.groups, ServerPref: c.pref})
	return s.Addr, s.CA
}

// TestInteropDeb13Servers scans nginx 1.26, HAProxy 3.0 and openssl s_server
// 3.5 with the default, hybrid, pure ML-KEM and classical group lists:
// verdicts, exact group sets, server preference order and the default
// client's group.
func TestInteropDeb13Servers(t *testing.T) {
	d := testpeer.Deb13(t)
	for _, c := range deb13Cases {
		name := c.server + "/" + c.groups
		if c.pref {
			name += "/serverpref"
		}
		t.Run(strings.ReplaceAll(name, ":", "+"), func(t *testing.T) {
			addr, ca := startDeb13(t, d, c)
			r := scanPeer(t, peerTarget(t, name, addr), ca)
			if r.Verdict != c.verdict {
				t.Errorf("verdict %s (%s), want %s", r.Verdict, r.Reason, c.verdict)
			}
			if !slices.Equal(r.GroupNames(), c.want) || !slices.Equal(r.ServerPreference, c.want) {
				t.Errorf("groups %v, server_preference %v; want exactly %v", r.GroupNames(), r.ServerPreference, c.want)
			}
			if len(c.want) > 1 && r.GroupOrder != c.order {
				t.Errorf("group_order %q, want %q", r.GroupOrder, c.order)
			}
			got := ""
			if r.DefaultClient != nil {
				got = r.DefaultClient.Group
			}
			if got != c.dflt {
				t.Errorf("default client got %q (%+v), want %q", got, r.DefaultClient, c.dflt)
			}
			// A pure ML-KEM server completes no handshake with Go (the
			// certificate is encrypted in TLS 1.3): nothing to verify.
			if c.dflt != "" && !r.ChainVerified {
				t.Errorf("chain not verified: %s", r.VerifyError)
			}
		})
	}
}

// TestInteropDeb13Postgres scans PostgreSQL 17 (OpenSSL 3.5) through
// SSLRequest and through direct TLS (ALPN "postgresql"): its one
// ssl_ecdh_curve (default prime256v1) keeps it classical.
func TestInteropDeb13Postgres(t *testing.T) {
	d := testpeer.Deb13(t)
	pg := d.Postgres(t, testpeer.PostgresOptions{SSL: true})
	for _, proto := range []Protocol{ProtoPostgres, ProtoPostgresDirect} {
		tg := peerTarget(t, "postgres17-"+string(proto), pg.Addr)
		tg.StartTLS = proto
		r := scanPeer(t, tg, pg.CA)
		if r.StartTLS != proto || r.Verdict != VerdictClassical {
			t.Errorf("%s: starttls %s verdict %s (%s %s), want classical", proto, r.StartTLS, r.Verdict, r.Reason, r.Error)
		}
		if !slices.Equal(r.GroupNames(), []string{"secp256r1"}) {
			t.Errorf("%s: groups %v, want exactly [secp256r1]", proto, r.GroupNames())
		}
		if r.DefaultClient == nil || r.DefaultClient.Group != "secp256r1" || !r.DefaultClient.HelloRetry {
			t.Errorf("%s: default client %+v, want secp256r1 after HelloRetryRequest", proto, r.DefaultClient)
		}
	}
	// ssl_ecdh_curve takes one EC curve: secp384r1 replaces P-256, still
	// classical. (X25519 is not an EC curve to it: PostgreSQL 17 then
	// refuses to start, "FATAL: ECDH: could not create key".)
	pgx := d.Postgres(t, testpeer.PostgresOptions{SSL: true, ECDHCurve: "secp384r1"})
	tg := peerTarget(t, "postgres17-secp384r1", pgx.Addr)
	tg.StartTLS = ProtoPostgresDirect
	r := scanPeer(t, tg, pgx.CA)
	if r.Verdict != VerdictClassical || !slices.Equal(r.GroupNames(), []string{"secp384r1"}) {
		t.Errorf("ssl_ecdh_curve=secp384r1: %s %v, want classical [secp384r1]", r.Verdict, r.GroupNames())
	}
}
