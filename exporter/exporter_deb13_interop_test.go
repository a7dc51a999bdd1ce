package exporter

// Probes of real TLS servers: the OpenSSL 3.5 peers of the Debian 13 tree
// and Debian's PostgreSQL 15 (STARTTLS); ML-DSA certificates in
// exporter_mldsa_deb13_interop_test.go.

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
	"github.com/pqtls/pqtls/scan"
)

// deb13Enum is the groups the exporter enumerates on the Debian 13 peers.
var deb13Enum = []string{"X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM768", "x25519", "secp256r1", "secp384r1"}

// TestInteropDeb13Probe probes real OpenSSL 3.5 servers (nginx 1.26,
// HAProxy 3.0, openssl s_server, PostgreSQL 17) with hybrid, pure ML-KEM and
// classical group lists, and checks that the exporter reports exactly the
// groups `pqtls scan` finds on the same server, and the default client's
// group.
func TestInteropDeb13Probe(t *testing.T) {
	d := testpeer.Deb13(t)
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	mod := "    timeout: 10s\n    ca_file: " + caFile + "\n    enumerate: true\n    enumerate_groups: [" + strings.Join(deb13Enum, ", ") + "]\n"
	e := newExporter(t, mustConfig(t, "modules:\n  enum:\n"+mod+"  pg:\n"+mod+"    starttls: postgres\n"), nil)

	type srv struct {
		name, addr, module string
		group              string // default client's group; "" = no handshake
	}
	servers := []srv{
		{"nginx default", d.Nginx(t, testpeer.NginxOptions{Cert: cert}).Addr, "enum", "x25519_mlkem768"},
		{"nginx X25519:prime256v1", d.Nginx(t, testpeer.NginxOptions{Cert: cert, ECDHCurve: "X25519:prime256v1"}).Addr, "enum", "x25519"},
		{"haproxy default", d.HAProxy(t, testpeer.HAProxyOptions{Cert: cert}).Addr, "enum", "x25519_mlkem768"},
		{"haproxy X25519:P-256", d.HAProxy(t, testpeer.HAProxyOptions{Cert: cert, Curves: "X25519:P-256"}).Addr, "enum", "x25519"},
		{"s_server hybrids", d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: cert, Groups: "SecP384r1MLKEM1024:SecP256r1MLKEM768", ServerPref: true}).Addr, "enum", "secp384r1_mlkem1024"}, // HRR to its first choice
		{"s_server MLKEM768", d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: cert, Groups: "MLKEM768"}).Addr, "enum", ""},
		{"postgres 17", d.Postgres(t, testpeer.PostgresOptions{Cert: cert}).Addr, "pg", "secp256r1"},
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			m := probeHTTP(t, e, s.addr, s.module, nil)
			tg := scan.Target{Input: s.name, Host: "127.0.0.1", Port: portOf(t, s.addr), ServerName: "localhost"}
			if s.module == "pg" {
				tg.StartTLS = scan.ProtoPostgres
			}
			r, err := scan.ScanOne(context.Background(), tg, scan.Options{Enumerate: true, Timeout: 5 * time.Second, RootCAs: ca.Pool()})
			if err != nil {
				t.Fatal(err)
			}
			if s.group == "" {
				// No handshake (Go cannot negotiate MLKEM768): the probe
				// fails, and a failed probe carries no enumeration gauges;
				// scan still reports the server pq_capable.
				m.want(t, 0, "probe_success")
				m.want(t, 1, "probe_tls_failure_info", "phase", "handshake", "reason", "alert_handshake_failure")
				if r.Verdict != scan.VerdictPQCapable {
					t.Errorf("scan verdict %s, want pq_capable", r.Verdict)
				}
				return
			}
			var found []string
			for _, name := range deb13Enum {
				g, err := pqtls.ParseGroup(name)
				if err != nil {
					t.Fatal(err)
				}
				want := 0.0
				if r.HasGroup(g.ID) {
					want = 1
					found = append(found, name)
				}
				m.want(t, want, "probe_tls_group_supported", "group", g.Label)
			}
			t.Logf("exporter and scan agree: %v; scan default client %+v", found, r.DefaultClient)
			m.want(t, 1, "probe_success")
			m.want(t, 1, "probe_tls_group_info", "group", s.group, "kind", string(pqtls.GroupKind(groupID(t, s.group))))
			if k := pqtls.GroupKind(groupID(t, s.group)); (k == pqtls.KindHybrid) != (r.Verdict == scan.VerdictPQReady) {
				t.Errorf("default group %s (%s) but scan verdict %s", s.group, k, r.Verdict)
			}
		})
	}
}

func groupID(t *testing.T, label string) tls.CurveID {
	t.Helper()
	g, err := pqtls.ParseGroup(label)
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInteropProbePostgresSTARTTLS probes Debian's PostgreSQL 15 (OpenSSL
// 3.0, ssl_ecdh_curve prime256v1) through its SSLRequest preamble: the
// default client gets secp256r1 after a HelloRetryRequest (its key shares
// are X25519MLKEM768 and X25519), and enumeration finds secp256r1 only.
func TestInteropProbePostgresSTARTTLS(t *testing.T) {
	testpeer.Require(t, testpeer.PeerPostgres)
	ca := testpki.NewCA(t)
	pg := testpeer.Postgres(t, testpeer.PostgresOptions{Cert: ca.Server(t, testpki.CertOptions{}), ECDHCurve: "prime256v1"})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustConfig(t, "modules:\n  postgres:\n    timeout: 10s\n    starttls: postgres\n    ca_file: "+caFile+
		"\n    enumerate: true\n    enumerate_groups: [X25519MLKEM768, SecP256r1MLKEM768, x25519, secp256r1, secp384r1]\n"+
		"  plain:\n    timeout: 5s\n    ca_file: "+caFile+"\n")
	e := newExporter(t, cfg, nil)
	s := probeHTTP(t, e, pg.Addr, "postgres", nil)
	s.want(t, 1, "probe_success")
	s.want(t, 1, "probe_tls_group_info", "group", "secp256r1", "kind", "classical")
	s.want(t, 1, "probe_tls_hello_retry")
	s.want(t, 0, "probe_tls_pq_ready")
	s.want(t, 1, "probe_tls_version_info", "version", "TLS 1.3")
	s.want(t, 1, "probe_tls_group_supported", "group", "secp256r1")
	for _, g := range []string{"x25519_mlkem768", "secp256r1_mlkem768", "x25519", "secp384r1"} {
		s.want(t, 0, "probe_tls_group_supported", "group", g)
	}
	s.want(t, 1, "probe_tls_large_client_hello_ok")

	// Without the preamble PostgreSQL does not speak TLS:
	s = probeHTTP(t, e, pg.Addr, "plain", nil)
	s.want(t, 0, "probe_success")
	// PostgreSQL reads the ClientHello as a startup packet with a bogus
	// length and hangs up.
	s.want(t, 1, "probe_tls_failure_info", "phase", "handshake", "reason", "eof")
}
