package exporter

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
