package scan

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

// deb13PKI makes certificates with the Debian 13 tree's OpenSSL 3.5 in a
// directory the chrooted s_server reads.
type deb13PKI struct {
	t   *testing.T
	d   *testpeer.Debian13
	dir string
}

// newKeyArgs are `openssl req -newkey` arguments per key type.
var newKeyArgs = map[string][]string{
	"ML-DSA-44": {"-newkey", "ML-DSA-44"}, "ML-DSA-65": {"-newkey", "ML-DSA-65"}, "ML-DSA-87": {"-newkey", "ML-DSA-87"},
	"RSA-2048":    {"-newkey", "rsa:2048", "-sha256"},
	"ECDSA P-256": {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha256"},
	"ECDSA P-384": {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-sha384"},
}

// cert makes name.pem/name.key with a key of type kt: self-signed, or
// issued by the certificate named ca.
func (p *deb13PKI) cert(name, kt, ca string) {
	p.t.Helper()
	args := append([]string{"req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=" + name,
		"-keyout", filepath.Join(p.dir, name+".key"), "-out", filepath.Join(p.dir, name+".pem")}, newKeyArgs[kt]...)
	if ca != "" {
		args = append(args, "-CA", filepath.Join(p.dir, ca+".pem"), "-CAkey", filepath.Join(p.dir, ca+".key"),
			"-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE")
	} else {
		args = append(args, "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
	}
	if out, err := p.d.Run("/usr/bin/openssl", args...); err != nil {
		p.t.Fatalf("openssl req for %s (%s): %v\n%s", name, kt, err, out)
	}
}

// sServer starts `openssl s_server -www -tls1_3` with the given extra
// arguments (certificates, groups) and returns its address.
func (p *deb13PKI) sServer(args ...string) string {
	p.t.Helper()
	for attempt := 1; ; attempt++ {
		port := testpeer.FreePort(p.t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		pr := p.d.Start(p.t, "openssl s_server", "/usr/bin/openssl", append([]string{"s_server", "-www", "-tls1_3", "-accept", addr}, args...)...)
		err := testpeer.WaitTCP(addr, pr, testpeer.StartTimeout)
		if err == nil {
			return addr
		}
		if attempt == 3 || !pr.Exited() {
			p.t.Fatalf("s_server %v: %v\n%s", args, err, pr.Output())
		}
	}
}

func (p *deb13PKI) files(name string) (string, string) {
	return filepath.Join(p.dir, name+".pem"), filepath.Join(p.dir, name+".key")
}

// mldsaDeb13Case is one s_server configuration and the exact report.
type mldsaDeb13Case struct {
	name   string
	certs  [][2]string // (certificate name, issuer name or "") served: -cert, then -dcert
	groups string
	// default client's chain (key, signature per certificate) with Go
	// 1.26; with Go 1.27, whose client offers ML-DSA first, goML is used
	// when set.
	dflt, goML [][2]string
	capable    bool
	outcome    string
	chains     map[string][][2]string // scheme -> (key, signature) per certificate
	cnsa2      CNSA2Verdict
	lacks      []string
}

// TestInteropDeb13MLDSA scans openssl s_server 3.5 with ML-DSA-44/65/87,
// RSA and ECDSA certificates, self-signed and issued, and with two
// certificates at once (-cert and -dcert): per-certificate signature and
// key algorithms, ML-DSA capability and the CNSA 2.0 verdict must be exact.
func TestInteropDeb13MLDSA(t *testing.T) {
	d := testpeer.Deb13(t)
	p := &deb13PKI{t: t, d: d, dir: d.TempDir(t)}
	for _, c := range [][3]string{
		{"mldsa44", "ML-DSA-44", ""}, {"mldsa65", "ML-DSA-65", ""}, {"rsa", "RSA-2048", ""}, {"p384", "ECDSA P-384", ""}, {"p256", "ECDSA P-256", ""},
		{"ca87", "ML-DSA-87", ""}, {"leaf87", "ML-DSA-87", "ca87"}, {"cap384", "ECDSA P-384", ""}, {"leaf87ec", "ML-DSA-87", "cap384"},
	} {
		p.cert(c[0], c[1], c[2])
	}
	mk := func(alg string, n int) [][2]string {
		var out [][2]string
		for range n {
			out = append(out, [2]string{alg, alg})
		}
		return out
	}
	both := []string{LackCNSA2KeyExchange, LackCNSA2Chain}
	cases := []mldsaDeb13Case{
		{"ml-dsa-44", [][2]string{{"mldsa44", ""}}, "", nil, mk("ML-DSA-44", 1), true, "server_hello", map[string][][2]string{"mldsa44": mk("ML-DSA-44", 1)}, CNSA2NotReady, both},
		{"ml-dsa-65", [][2]string{{"mldsa65", ""}}, "", nil, mk("ML-DSA-65", 1), true, "server_hello", map[string][][2]string{"mldsa65": mk("ML-DSA-65", 1)}, CNSA2NotReady, both},
		{"ml-dsa-87 chain, MLKEM1024", [][2]string{{"leaf87", "ca87"}}, "MLKEM1024:X25519MLKEM768:X25519", nil, mk("ML-DSA-87", 2), true, "server_hello", map[string][][2]string{"mldsa87": mk("ML-DSA-87", 2)}, CNSA2Ready, []string{}},
		{"ml-dsa-87 chain, SecP384r1MLKEM1024", [][2]string{{"leaf87", "ca87"}}, "SecP384r1MLKEM1024:X25519", nil, mk("ML-DSA-87", 2), true, "server_hello", map[string][][2]string{"mldsa87": mk("ML-DSA-87", 2)}, CNSA2Transitional, []string{}},
		{"ml-dsa-87 leaf, ECDSA issuer", [][2]string{{"leaf87ec", "cap384"}}, "MLKEM1024:X25519", nil, [][2]string{{"ML-DSA-87", "ECDSA-SHA256"}, {"ECDSA P-384", "ECDSA-SHA384"}}, true, "server_hello",
			map[string][][2]string{"mldsa87": {{"ML-DSA-87", "ECDSA-SHA256"}, {"ECDSA P-384", "ECDSA-SHA384"}}}, CNSA2NotReady, []string{LackCNSA2Chain}},
		{"rsa", [][2]string{{"rsa", ""}}, "", [][2]string{{"RSA-2048", "SHA256-RSA"}}, nil, false, "alert_handshake_failure", nil, CNSA2NotReady, both},
		{"ecdsa p-384, MLKEM1024", [][2]string{{"p384", ""}}, "MLKEM1024:X25519", [][2]string{{"ECDSA P-384", "ECDSA-SHA384"}}, nil, false, "alert_handshake_failure", nil, CNSA2NotReady, []string{LackCNSA2Chain}},
		{"ecdsa p-256 + ml-dsa-65", [][2]string{{"p256", ""}, {"mldsa65", ""}}, "", [][2]string{{"ECDSA P-256", "ECDSA-SHA256"}}, mk("ML-DSA-65", 1), true, "server_hello", map[string][][2]string{"mldsa65": mk("ML-DSA-65", 1)}, CNSA2NotReady, both},
		{"ml-dsa-87 chain + ml-dsa-44", [][2]string{{"leaf87", "ca87"}, {"mldsa44", ""}}, "MLKEM1024:X25519", nil, mk("ML-DSA-44", 1), true, "server_hello",
			map[string][][2]string{"mldsa87": mk("ML-DSA-87", 2), "mldsa44": mk("ML-DSA-44", 1)}, CNSA2Ready, []string{}},
		{"rsa + ml-dsa-87 chain", [][2]string{{"rsa", ""}, {"leaf87", "ca87"}}, "MLKEM1024:X25519", [][2]string{{"RSA-2048", "SHA256-RSA"}}, mk("ML-DSA-87", 2), true, "server_hello", map[string][][2]string{"mldsa87": mk("ML-DSA-87", 2)}, CNSA2Ready, []string{}},
	}
	_, err := pqtls.ParseAuth("prefer-pq")
	goMLDSA := err == nil // this binary's crypto/tls offers ML-DSA (Go 1.27)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var args []string
			for i, cert := range c.certs {
				crt, key := p.files(cert[0])
				flag := []string{"-cert", "-key", "-cert_chain"}
				if i == 1 {
					flag = []string{"-dcert", "-dkey", "-dcert_chain"}
				}
				args = append(args, flag[0], crt, flag[1], key)
				if cert[1] != "" {
					ca, _ := p.files(cert[1])
					args = append(args, flag[2], ca)
				}
			}
			if c.groups != "" {
				args = append(args, "-groups", c.groups)
			}
			addr := p.sServer(args...)
			r, err := ScanOne(context.Background(), peerTarget(t, c.name, addr), Options{Enumerate: true, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s, ml_dsa %s, cnsa2 %s %v, %d connections", c.name, r.Verdict, mldsaCell(r), r.CNSA2.Verdict, r.CNSA2.Lacks, r.Connections)
			want := c.dflt
			if goMLDSA && c.goML != nil || want == nil {
				want = c.goML
			}
			if !goMLDSA && c.dflt == nil {
				want = nil // Go 1.26 cannot complete a handshake with an ML-DSA-only server
			}
			if got := algPairs(r.Certificates); !slices.Equal(got, want) {
				t.Errorf("default client's chain %v, want %v", got, want)
			}
			// The group walk offers ML-DSA schemes too: an ML-DSA-only
			// server answers it (every configured group found, none broken).
			wantGroups := slices.Clone(deb13Default)
			if c.groups != "" {
				wantGroups = nil
				for _, n := range strings.Split(c.groups, ":") {
					g, _ := pqtls.ParseGroup(n)
					wantGroups = append(wantGroups, g.Name)
				}
			}
			gotGroups := r.GroupNames()
			slices.Sort(gotGroups)
			slices.Sort(wantGroups)
			if !slices.Equal(gotGroups, wantGroups) || slices.ContainsFunc(r.Groups, GroupResult.Broken) {
				t.Errorf("groups %v (%+v), want %v, none broken", gotGroups, r.Groups, wantGroups)
			}
			a := r.MLDSA
			if a == nil || a.Capable == nil || *a.Capable != c.capable || a.Outcome != c.outcome {
				t.Fatalf("ml_dsa_auth %+v, want capable %v outcome %s", a, c.capable, c.outcome)
			}
			if len(a.Chains) != len(c.chains) {
				t.Errorf("ML-DSA chains %+v, want %v", a.Chains, c.chains)
			}
			for _, ch := range a.Chains {
				if got := algPairs(ch.Certificates); !slices.Equal(got, c.chains[ch.Scheme]) {
					t.Errorf("%s chain %v, want %v", ch.Scheme, got, c.chains[ch.Scheme])
				}
			}
			if r.CNSA2.Verdict != c.cnsa2 || !slices.Equal(r.CNSA2.Lacks, c.lacks) {
				t.Errorf("cnsa2 %+v, want %s lacking %v", r.CNSA2, c.cnsa2, c.lacks)
			}
			if c.cnsa2 == CNSA2Ready && (!r.CNSA2.AES256 || r.CNSA2.CipherSuite != "TLS_AES_256_GCM_SHA384") {
				t.Errorf("cnsa2 cipher suite %q aes256 %v: OpenSSL follows the client's order, AES-256 first", r.CNSA2.CipherSuite, r.CNSA2.AES256)
			}
		})
	}
}

func algPairs(cs []CertInfo) [][2]string {
	var out [][2]string
	for _, c := range cs {
		out = append(out, [2]string{c.PublicKeyAlgorithm, c.SignatureAlgorithm})
	}
	return out
}
