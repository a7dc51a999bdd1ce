package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// The closed loop of issue 15 item 3: a classical config of a real Debian 13
// server (OpenSSL 3.5) is found by `pqtls lint`, fixed by `pqtls lint --fix`,
// accepted by the server's own checker, and the server started with the
// fixed file is scanned pq_ready with X25519MLKEM768 selected. The same
// server started with the classical file first scans classical, which proves
// the file is the one in effect.

// lintLoopCase is one server whose config lint can make hybrid.
type lintLoopCase struct {
	name, rule, file string
	// before is the scan verdict of the classical file ("" = classical).
	before string
	// conf renders the classical config for dir (certificates), port.
	conf func(dir string, port int) string
	// check is the server's own checker (argv inside the tree), nil if none.
	check func(conf, dir string) []string
	// start starts the server with conf (a path valid in and out of the tree).
	// The port is the one conf was rendered with.
	start func(t *testing.T, d *testpeer.Debian13, conf, dir string, port int) *testpeer.Proc
}

// nginxLoopConf sets ssl_ecdh_curve to curve (omitted when empty) and
// ssl_protocols to protocols.
func nginxLoopConf(curve, protocols string) func(dir string, port int) string {
	return func(dir string, port int) string {
		var b strings.Builder
		b.WriteString("daemon off;\nmaster_process on;\nworker_processes 1;\n")
		if os.Geteuid() == 0 {
			b.WriteString("user root root;\n")
		}
		fmt.Fprintf(&b, "pid %s/nginx.pid;\nerror_log stderr notice;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n", dir)
		for _, p := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
			fmt.Fprintf(&b, "  %s_temp_path %s/%s_temp;\n", p, dir, p)
		}
		fmt.Fprintf(&b, "  server {\n    listen 127.0.0.1:%d ssl;\n    server_name localhost;\n", port)
		fmt.Fprintf(&b, "    ssl_certificate %s/cert.pem;\n    ssl_certificate_key %s/key.pem;\n    ssl_protocols %s;\n", dir, dir, protocols)
		if curve != "" {
			fmt.Fprintf(&b, "    ssl_ecdh_curve %s;\n", curve)
		}
		b.WriteString("    location / { return 200 \"hello\\n\"; }\n  }\n}\n")
		return b.String()
	}
}

// haproxyLoopConf adds global (a line of the global section, or "") and
// bindOpts (bind options after the certificate).
func haproxyLoopConf(global, bindOpts string) func(dir string, port int) string {
	return func(dir string, port int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "global\n  log stderr format raw local0 info\n  pidfile %s/haproxy.pid\n", dir)
		if global != "" {
			b.WriteString("  " + global + "\n")
		}
		bindCurves := bindOpts
		b.WriteString("defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n")
		fmt.Fprintf(&b, "frontend fe\n  bind 127.0.0.1:%d ssl crt %s/combined.pem%s\n", port, dir, bindCurves)
		b.WriteString("  http-request return status 200 content-type text/plain string \"hello\"\n")
		return b.String()
	}
}

// opensslLoopConf is an OPENSSL_CONF whose system_default section has line.
func opensslLoopConf(line string) func(dir string, port int) string {
	return func(string, int) string {
		return "openssl_conf = openssl_init\n\n[openssl_init]\nssl_conf = ssl_module\n\n[ssl_module]\nsystem_default = tls_defaults\n\n[tls_defaults]\n" + line + "\n"
	}
}

var lintLoopCases = []lintLoopCase{
	{name: "nginx", rule: "PQ311", file: "nginx.conf", conf: nginxLoopConf("X25519:prime256v1", "TLSv1.2 TLSv1.3"),
		check: nginxLoopCheck, start: nginxLoopStart},
	{name: "nginx-protocols", rule: "PQ312", file: "nginx.conf", before: "tls12_only", conf: nginxLoopConf("", "TLSv1.2"),
		check: nginxLoopCheck, start: nginxLoopStart},
	{name: "haproxy-bind-curves", rule: "PQ321", file: "haproxy.cfg", conf: haproxyLoopConf("", " curves X25519:P-256"),
		check: haproxyLoopCheck, start: haproxyLoopStart},
	{name: "haproxy-ssl-default-bind-curves", rule: "PQ321", file: "haproxy.cfg", conf: haproxyLoopConf("ssl-default-bind-curves X25519:P-256", ""),
		check: haproxyLoopCheck, start: haproxyLoopStart},
	{name: "haproxy-max-ver", rule: "PQ322", file: "haproxy.cfg", before: "tls12_only", conf: haproxyLoopConf("", " ssl-max-ver TLSv1.2"),
		check: haproxyLoopCheck, start: haproxyLoopStart},
	{name: "openssl-groups", rule: "PQ421", file: "openssl.cnf", conf: opensslLoopConf("Groups = X25519:P-256"), start: opensslLoopStart},
	{name: "openssl-curves", rule: "PQ421", file: "openssl.cnf", conf: opensslLoopConf("Curves = X25519:P-256"), start: opensslLoopStart},
	{name: "openssl-max-protocol", rule: "PQ422", file: "openssl.cnf", before: "tls12_only", conf: opensslLoopConf("MaxProtocol = TLSv1.2"), start: opensslLoopStart},
	// Issue 18 item 5 for PQ452: the tree's redis-server with tls-protocols
	// "TLSv1.2" scans tls12_only; --fix adds TLSv1.3.
	{name: "redis-tls-protocols", rule: "PQ452", file: "redis.conf", before: "tls12_only",
		conf: redisLoopConf(`tls-protocols "TLSv1.2"`), start: redisLoopStart},
	{name: "redis-tls-protocols-unquoted", rule: "PQ452", file: "redis.conf", before: "tls12_only",
		conf: redisLoopConf(`tls-protocols TLSv1.2`), start: redisLoopStart},
}

func nginxLoopCheck(conf, dir string) []string {
	return []string{"/usr/sbin/nginx", "-t", "-p", dir, "-c", conf, "-e", "stderr"}
}

func nginxLoopStart(t *testing.T, d *testpeer.Debian13, conf, dir string, _ int) *testpeer.Proc {
	return d.Start(t, "nginx", "/usr/sbin/nginx", "-p", dir, "-c", conf, "-e", "stderr")
}

func haproxyLoopCheck(conf, _ string) []string {
	return []string{"/usr/sbin/haproxy", "-c", "-f", conf}
}

func haproxyLoopStart(t *testing.T, d *testpeer.Debian13, conf, _ string, _ int) *testpeer.Proc {
	return d.Start(t, "haproxy", "/usr/sbin/haproxy", "-db", "-f", conf)
}

// opensslLoopStart runs s_server with OPENSSL_CONF=conf and no -groups: the
// groups come from the config's system_default section only.
func opensslLoopStart(t *testing.T, d *testpeer.Debian13, conf, dir string, port int) *testpeer.Proc {
	return d.Start(t, "openssl s_server", "/usr/bin/env", "OPENSSL_CONF="+conf, "/usr/bin/openssl", "s_server", "-www",
		"-cert", dir+"/cert.pem", "-key", dir+"/key.pem", "-accept", "127.0.0.1:"+strconv.Itoa(port))
}

// loopCheck runs the server's own checker on conf; it must accept it.
func loopCheck(t *testing.T, d *testpeer.Debian13, tc lintLoopCase, conf, dir string) {
	t.Helper()
	if tc.check == nil {
		return
	}
	argv := tc.check(conf, dir)
	out, err := d.Run(argv[0], argv[1:]...)
	if err != nil {
		data, _ := os.ReadFile(conf)
		t.Fatalf("%s rejects the file: %v\n%s\n%s", argv[0], err, out, data)
	}
}

// loopServe starts the case's server with conf, waits until it listens and
// returns its address and the server's stop.
func loopServe(t *testing.T, d *testpeer.Debian13, tc lintLoopCase, conf, dir string, port int) (string, func()) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := tc.start(t, d, conf, dir, port)
	if err := testpeer.WaitTCP(addr, p, testpeer.StartTimeout); err != nil {
		p.Stop()
		t.Fatalf("%s did not start: %v\n%s", tc.name, err, p.Output())
	}
	return addr, p.Stop
}

// lintLoop is the closed loop of one case in dir (certificates already
// there): the classical file is written, lint finds tc.rule once and exits
// classicalExit, the server's checker accepts the file and check(conf, port,
// nil) tries the server with it; then lint --fix, lint exits 0 (with no
// finding left when fixClean), the checker accepts the fixed file and
// check(conf, port, fixed) tries the server again.
func lintLoop(t *testing.T, d *testpeer.Debian13, tc lintLoopCase, dir string, classicalExit int, fixClean bool, check func(conf string, port int, fixed []byte)) {
	t.Helper()
	conf := filepath.Join(dir, tc.file)
	port := testpeer.FreePort(t)
	classical := tc.conf(dir, port)
	if err := os.WriteFile(conf, []byte(classical), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runLintCmd(t, "--format", "json", conf)
	if r := decodeLint(t, out); code != classicalExit || r.Summary.ByRule[tc.rule] != 1 || r.Summary.Total != 1 {
		t.Fatalf("lint of the classical file: exit %d (want %d), findings %v\n%s\n%s", code, classicalExit, ruleLines(r), errOut, classical)
	}
	loopCheck(t, d, tc, conf, dir)
	check(conf, port, nil)

	if code, _, errOut := runLintCmd(t, "--fix", conf); code != 0 || !strings.Contains(errOut, "fixed ") {
		t.Fatalf("lint --fix: exit %d\n%s", code, errOut)
	}
	fixed, _ := os.ReadFile(conf)
	if code, out, _ := runLintCmd(t, "--format", "json", conf); code != 0 || fixClean && decodeLint(t, out).Summary.Total != 0 {
		t.Fatalf("lint after --fix: exit %d\n%s\n%s", code, out, fixed)
	}
	t.Logf("%s fixed:\n%s", tc.file, fixed)
	loopCheck(t, d, tc, conf, dir)
	check(conf, port, fixed)
}

// scanOne runs `pqtls scan --format json` on one target.
func scanOne(t *testing.T, caFile, target string) (string, string) {
	t.Helper()
	code, out, errOut := scanCLI(t, "", "scan", "--format", "json", "--ca", caFile, "--timeout", "5s", target)
	var rep struct {
		Endpoints []struct {
			Verdict       string `json:"verdict"`
			Error         string `json:"error"`
			DefaultClient *struct {
				Group string `json:"group"`
			} `json:"default_client"`
		} `json:"endpoints"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Endpoints) != 1 {
		t.Fatalf("scan %s: exit %d, %v\n%s\n%s", target, code, err, out, errOut)
	}
	e := rep.Endpoints[0]
	group := ""
	if e.DefaultClient != nil {
		group = e.DefaultClient.Group
	}
	t.Logf("scan %s: exit %d, verdict %s, default group %s %s", target, code, e.Verdict, group, e.Error)
	return e.Verdict, group
}

func TestInteropLintLoopDebian13(t *testing.T) {
	d := testpeer.Deb13(t)
	for _, tc := range lintLoopCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := d.TempDir(t)
			ca := testpki.NewCA(t)
			cert := ca.Server(t, testpki.CertOptions{})
			cert.WriteFiles(t, dir)
			if err := os.WriteFile(filepath.Join(dir, "combined.pem"), cert.CombinedPEM(), 0o600); err != nil {
				t.Fatal(err)
			}
			caFile := ca.WriteCertFile(t, t.TempDir())
			// The classical file: the real server is classical (or
			// tls12_only); the fixed one: pq_ready with X25519MLKEM768.
			lintLoop(t, d, tc, dir, 1, false, func(conf string, port int, fixed []byte) {
				addr, stop := loopServe(t, d, tc, conf, dir, port)
				verdict, group := scanOne(t, caFile, addr)
				stop()
				want := tc.before
				switch {
				case fixed != nil:
					if verdict != "pq_ready" || group != "X25519MLKEM768" {
						t.Fatalf("fixed file: scan verdict %s, default group %s; want pq_ready, X25519MLKEM768\n%s", verdict, group, fixed)
					}
				case want == "":
					want = "classical"
					fallthrough
				default:
					if verdict != want {
						t.Fatalf("classical file: scan verdict %s (default group %s), want %s: the config is not in effect", verdict, group, want)
					}
				}
			})
		})
	}
}

// TestInteropLintLoopPostgres17: PostgreSQL 17's ssl_ecdh_curve is one EC
// curve, so no setting makes it hybrid. lint reports PQ701, --fix leaves
// postgresql.conf byte-identical, and the server with that setting scans
// classical (SSLRequest) as documented.
func TestInteropLintLoopPostgres17(t *testing.T) {
	d := testpeer.Deb13(t)
	conf := filepath.Join(t.TempDir(), "postgresql.conf")
	orig := "# PostgreSQL 17\nssl = on\nssl_ecdh_curve = 'prime256v1'\n"
	if err := os.WriteFile(conf, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runLintCmd(t, "--format", "json", conf)
	if r := decodeLint(t, out); code != 1 || r.Summary.ByRule["PQ701"] != 1 || r.Summary.Total != 1 || r.Findings[0].Fix != nil {
		t.Fatalf("lint: exit %d, findings %v\n%s", code, ruleLines(r), errOut)
	}
	code, _, errOut = runLintCmd(t, "--fix", conf)
	if data, _ := os.ReadFile(conf); string(data) != orig {
		t.Fatalf("--fix changed postgresql.conf:\n%s", data)
	}
	if code != 1 {
		t.Errorf("--fix: exit %d, want 1 (the finding remains)\n%s", code, errOut)
	}
	t.Logf("lint --fix: exit %d\n%s", code, errOut)

	pg := d.Postgres(t, testpeer.PostgresOptions{SSL: true, ECDHCurve: "prime256v1"})
	caFile := pg.CA.WriteCertFile(t, t.TempDir())
	verdict, group := scanOne(t, caFile, "postgres://"+pg.Addr)
	if verdict != "classical" || group != "secp256r1" {
		t.Fatalf("PostgreSQL 17 with ssl_ecdh_curve prime256v1: verdict %s, group %s; want classical, secp256r1", verdict, group)
	}
}

// redisLoopConf is a TLS-only redis.conf (no client certificates) with
// the protocols line.
func redisLoopConf(protocols string) func(dir string, port int) string {
	return func(dir string, port int) string {
		return fmt.Sprintf("bind 127.0.0.1\nport 0\ntls-port %d\ntls-cert-file %s/cert.pem\ntls-key-file %s/key.pem\ntls-auth-clients no\n%s\n"+
			"dir %s\nsave \"\"\nappendonly no\ndaemonize no\nprotected-mode no\nlogfile \"\"\n", port, dir, dir, protocols, dir)
	}
}

func redisLoopStart(t *testing.T, d *testpeer.Debian13, conf, _ string, _ int) *testpeer.Proc {
	return d.Start(t, "redis-server", "/usr/bin/redis-server", conf)
}

// The closed loop of the ML-DSA lint rules (issue 20 item 6) against the
// Debian 13 tree (OpenSSL 3.5): a server with an ML-DSA-65 certificate and a
// signature algorithm list without ML-DSA fails every TLS 1.3 handshake
// (OpenSSL: "no suitable signature algorithm"); `pqtls lint` reports the
// list, `pqtls lint --fix` appends the ML-DSA schemes, the server's own
// checker accepts the file, and the same server then completes the
// handshake with an ML-DSA-65 signature.

// mldsaLoopList is the classical signature algorithm list of the cases.
const mldsaLoopList = "ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256"

var mldsaLoopCases = []lintLoopCase{
	{name: "openssl-sigalgs", rule: "PQ461", file: "openssl.cnf", conf: opensslLoopConf("SignatureAlgorithms = " + mldsaLoopList), start: opensslLoopStart},
	{name: "nginx-sigalgs", rule: "PQ462", file: "nginx.conf", conf: nginxSigalgsConf(mldsaLoopList), check: nginxLoopCheck, start: nginxLoopStart},
	{name: "haproxy-sigalgs", rule: "PQ463", file: "haproxy.cfg", conf: haproxyLoopConf("", " sigalgs "+mldsaLoopList), check: haproxyLoopCheck, start: haproxyLoopStart},
}

// nginxSigalgsConf is nginxLoopConf with TLS 1.2 and 1.3 and an
// ssl_conf_command SignatureAlgorithms line.
func nginxSigalgsConf(list string) func(dir string, port int) string {
	return func(dir string, port int) string {
		const protos = "    ssl_protocols TLSv1.2 TLSv1.3;\n"
		return strings.Replace(nginxLoopConf("", "TLSv1.2 TLSv1.3")(dir, port), protos, protos+"    ssl_conf_command SignatureAlgorithms "+list+";\n", 1)
	}
}

// mldsaLoopHandshake connects with the tree's openssl s_client (TLS 1.3,
// trusting the self-signed certificate) and returns the server's signature
// type ("" when the handshake fails) and the client's output.
func mldsaLoopHandshake(t *testing.T, d *testpeer.Debian13, addr, caFile string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testpeer.RunTimeout)
	defer cancel()
	argv := d.Command("/usr/bin/openssl", "s_client", "-connect", addr, "-servername", "localhost",
		"-CAfile", caFile, "-verify_return_error", "-tls1_3", "-brief")
	out, _ := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Signature type:"); ok && strings.Contains(string(out), "CONNECTION ESTABLISHED") {
			return strings.TrimSpace(v), string(out)
		}
	}
	return "", string(out)
}

func TestInteropLintLoopMLDSADebian13(t *testing.T) {
	d := testpeer.Deb13(t)
	for _, tc := range mldsaLoopCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := d.TempDir(t)
			if out, err := d.Run("/usr/bin/openssl", "req", "-x509", "-newkey", "ML-DSA-65", "-nodes", "-days", "2",
				"-keyout", dir+"/key.pem", "-out", dir+"/cert.pem", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"); err != nil {
				t.Fatalf("openssl req ML-DSA-65: %v\n%s", err, out)
			}
			certPEM, _ := os.ReadFile(filepath.Join(dir, "cert.pem"))
			keyPEM, _ := os.ReadFile(filepath.Join(dir, "key.pem"))
			if err := os.WriteFile(filepath.Join(dir, "combined.pem"), append(certPEM, keyPEM...), 0o600); err != nil {
				t.Fatal(err)
			}
			// The list without ML-DSA: lint reports it (a warning exits
			// 0), the server cannot sign with its ML-DSA certificate; the
			// fixed list: the same server signs with ML-DSA-65.
			lintLoop(t, d, tc, dir, 0, true, func(conf string, port int, fixed []byte) {
				addr, stop := loopServe(t, d, tc, conf, dir, port)
				sig, hs := mldsaLoopHandshake(t, d, addr, dir+"/cert.pem")
				stop()
				if fixed == nil && sig != "" {
					t.Fatalf("classical list: handshake signed with %s, want a failure: the list is not in effect\n%s", sig, hs)
				}
				if fixed != nil && sig != "mldsa65" {
					t.Fatalf("fixed file: signature type %q, want mldsa65\n%s\n%s", sig, hs, fixed)
				}
			})
		})
	}
}
