package scan

import (
	"context"
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

func scanPeer(t *testing.T, tg Target, ca *testpki.CA) Result {
	t.Helper()
	r, err := ScanOne(context.Background(), tg, Options{Enumerate: true, Timeout: 5 * time.Second, RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s (%s) versions=%v groups=%v tls12=%v conns=%d", tg.Input, r.Verdict, r.Reason, r.Versions, r.GroupNames(), r.TLS12Curves, r.Connections)
	return r
}

func peerTarget(t *testing.T, name, addr string) Target {
	tg := target(t, addr)
	tg.Input, tg.ServerName = name, "localhost"
	return tg
}

// checkClassical: an OpenSSL 3.0 peer is classical, with a verified chain,
// and a default client gets defaultGroup. exact, when given, is the exact
// group list in server order.
func checkClassical(t *testing.T, r Result, leaf *x509.Certificate, defaultGroup string, exact ...string) {
	t.Helper()
	if r.Verdict != VerdictClassical {
		t.Errorf("verdict %s (%s %s), want classical", r.Verdict, r.Reason, r.Error)
	}
	for _, g := range r.Groups {
		if g.Kind != "classical" {
			t.Errorf("OpenSSL 3.0 cannot do %s", g.Name)
		}
	}
	if exact != nil {
		if !slices.Equal(r.GroupNames(), exact) {
			t.Errorf("groups %v, want exactly %v", r.GroupNames(), exact)
		}
	} else if !slices.Contains(r.GroupNames(), "x25519") || !slices.Contains(r.GroupNames(), "secp256r1") {
		t.Errorf("groups %v lack x25519/secp256r1", r.GroupNames())
	}
	if len(r.Certificates) == 0 || r.Certificates[0].Subject != leaf.Subject.String() || !r.ChainVerified {
		t.Errorf("certificate: %+v verified=%v %s", r.Certificates, r.ChainVerified, r.VerifyError)
	}
	if r.DefaultClient == nil || r.DefaultClient.Group != defaultGroup {
		t.Errorf("default client: %+v, want %s", r.DefaultClient, defaultGroup)
	}
}

// TestInteropNginx scans nginx built with OpenSSL 3.0 (no ML-KEM).
func TestInteropNginx(t *testing.T) {
	n := testpeer.Nginx(t, testpeer.NginxOptions{})
	r := scanPeer(t, peerTarget(t, "nginx", n.Addr), n.CA)
	checkClassical(t, r, n.Cert.Leaf, "x25519")
	if !slices.Equal(r.Versions, []string{"TLS 1.3", "TLS 1.2"}) {
		t.Errorf("versions %v, want TLS 1.3 and 1.2 (ssl_protocols)", r.Versions)
	}
	// ssl_ecdh_curve restricts the groups: the scan must see exactly them.
	n2 := testpeer.Nginx(t, testpeer.NginxOptions{ECDHCurve: "prime256v1:secp384r1", Protocols: "TLSv1.3"})
	r2 := scanPeer(t, peerTarget(t, "nginx-curves", n2.Addr), n2.CA)
	if !slices.Equal(r2.GroupNames(), []string{"secp256r1", "secp384r1"}) || !slices.Equal(r2.Versions, []string{"TLS 1.3"}) || r2.Verdict != VerdictClassical {
		t.Errorf("nginx ssl_ecdh_curve prime256v1:secp384r1 TLSv1.3: %s groups %v versions %v", r2.Verdict, r2.GroupNames(), r2.Versions)
	}
	if r2.DefaultClient == nil || r2.DefaultClient.Group != "secp256r1" || !r2.DefaultClient.HelloRetry {
		t.Errorf("default client against a P-256-first server: %+v, want secp256r1 after HRR", r2.DefaultClient)
	}
}

// TestInteropRedis scans Redis with TLS (implicit TLS, OpenSSL 3.0).
func TestInteropRedis(t *testing.T) {
	p := testpeer.Redis(t, testpeer.RedisOptions{})
	tg := peerTarget(t, "redis", p.Addr)
	tg.Protocol = "redis"
	r := scanPeer(t, tg, p.CA)
	checkClassical(t, r, p.Cert.Leaf, "x25519")
	if !slices.Contains(r.Versions, "TLS 1.2") || !slices.Contains(r.Versions, "TLS 1.3") {
		t.Errorf("versions %v", r.Versions)
	}
	if r.Priority.Score != 48 {
		t.Errorf("redis without tags is a long-lived store: priority %+v, want 100*1*0.8*0.6=48", r.Priority)
	}
}

// TestInteropPostgres scans PostgreSQL 15 with ssl=on through SSLRequest
// (auto-detected by port is not possible on a random port: the target says
// postgres).
func TestInteropPostgres(t *testing.T) {
	p := testpeer.Postgres(t, testpeer.PostgresOptions{SSL: true})
	tg := peerTarget(t, "postgres", p.Addr)
	tg.StartTLS = ProtoPostgres
	tg.Tags = map[string]string{"data_lifetime": "10y", "sensitivity": "high"}
	r := scanPeer(t, tg, p.CA)
	// PostgreSQL's ssl_ecdh_curve defaults to prime256v1: the only group,
	// and a default client needs a HelloRetryRequest to get it.
	checkClassical(t, r, p.Cert.Leaf, "secp256r1", "secp256r1")
	if dc := r.DefaultClient; dc == nil || !dc.HelloRetry {
		t.Errorf("default client: %+v, want secp256r1 after HRR", dc)
	}
	if r.StartTLS != ProtoPostgres {
		t.Errorf("starttls %s", r.StartTLS)
	}
	if r.Priority.Level != "critical" || r.Priority.Score != 100 {
		t.Errorf("classical 10y/high database: priority %+v, want critical 100", r.Priority)
	}
	// Without the SSLRequest PostgreSQL 15 does not speak TLS.
	tg.StartTLS = ProtoNone
	r2, _ := ScanOne(context.Background(), tg, Options{Timeout: 3 * time.Second})
	if r2.Verdict.Scanned() {
		t.Errorf("direct TLS to PostgreSQL 15 should fail, got %s", r2.Verdict)
	}
	// A cleartext server answers 'N': no_tls.
	plain := testpeer.Postgres(t, testpeer.PostgresOptions{})
	tp := peerTarget(t, "postgres-plain", plain.Addr)
	tp.StartTLS = ProtoPostgres
	if r3, _ := ScanOne(context.Background(), tp, Options{Enumerate: true, Timeout: 3 * time.Second}); r3.Verdict != VerdictNoTLS || r3.Connections != 1 {
		t.Errorf("postgres ssl=off: %s (%s) after %d connections, want no_tls after 1", r3.Verdict, r3.Error, r3.Connections)
	}
}
