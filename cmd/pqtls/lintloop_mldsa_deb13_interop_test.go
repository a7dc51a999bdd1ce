package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/testpeer"
)

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

// mldsaLoopServe starts the case's server with conf and returns the
// signature type of one handshake.
func mldsaLoopServe(t *testing.T, d *testpeer.Debian13, tc lintLoopCase, conf, dir string, port int) (string, string) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := tc.start(t, d, conf, dir, port)
	defer p.Stop()
	if err := testpeer.WaitTCP(addr, p, testpeer.StartTimeout); err != nil {
		t.Fatalf("%s did not start: %v\n%s", tc.name, err, p.Output())
	}
	return mldsaLoopHandshake(t, d, addr, dir+"/cert.pem")
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
			conf := filepath.Join(dir, tc.file)
			port := testpeer.FreePort(t)
			classical := tc.conf(dir, port)
			if err := os.WriteFile(conf, []byte(classical), 0o644); err != nil {
				t.Fatal(err)
			}

			// The list without ML-DSA: lint reports it, the server cannot
			// sign with its ML-DSA certificate.
			code, out, errOut := runLintCmd(t, "--format", "json", conf)
			if r := decodeLint(t, out); code != 0 || r.Summary.ByRule[tc.rule] != 1 || r.Summary.Total != 1 {
				t.Fatalf("lint of the classical file: exit %d (a warning exits 0), findings %v\n%s\n%s", code, ruleLines(r), errOut, classical)
			}
			loopCheck(t, d, tc, conf, dir)
			if sig, hs := mldsaLoopServe(t, d, tc, conf, dir, port); sig != "" {
				t.Fatalf("classical list: handshake signed with %s, want a failure: the list is not in effect\n%s", sig, hs)
			}

			// --fix, re-lint clean, the server accepts the file and signs
			// with ML-DSA-65.
			if code, _, errOut := runLintCmd(t, "--fix", conf); code != 0 || !strings.Contains(errOut, "fixed ") {
				t.Fatalf("lint --fix: exit %d\n%s", code, errOut)
			}
			fixed, _ := os.ReadFile(conf)
			if code, out, _ := runLintCmd(t, "--format", "json", conf); code != 0 || decodeLint(t, out).Summary.Total != 0 {
				t.Fatalf("lint after --fix: exit %d\n%s\n%s", code, out, fixed)
			}
			t.Logf("%s fixed:\n%s", tc.file, fixed)
			loopCheck(t, d, tc, conf, dir)
			if sig, hs := mldsaLoopServe(t, d, tc, conf, dir, port); sig != "mldsa65" {
				t.Fatalf("fixed file: signature type %q, want mldsa65\n%s\n%s", sig, hs, fixed)
			}
		})
	}
}
