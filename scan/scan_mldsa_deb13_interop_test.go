package scan

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

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
	dir := d.TempDir(t)
	for _, c := range [][3]string{
		{"mldsa44", "ML-DSA-44", ""}, {"mldsa65", "ML-DSA-65", ""}, {"rsa", "RSA-2048", ""}, {"p384", "ECDSA P-384", ""}, {"p256", "ECDSA P-256", ""},
		{"ca87", "ML-DSA-87", ""}, {"leaf87", "ML-DSA-87", "ca87"}, {"cap384", "ECDSA P-384", ""}, {"leaf87ec", "ML-DSA-87", "cap384"},
	} {
		d.OpenSSLCert(t, dir, c[0], c[1], c[2])
	}
	files := func(name string) (string, string) {
		return filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
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
				crt, key := files(cert[0])
				flag := []string{"-cert", "-key", "-cert_chain"}
				if i == 1 {
					flag = []string{"-dcert", "-dkey", "-dcert_chain"}
				}
				args = append(args, flag[0], crt, flag[1], key)
				if cert[1] != "" {
					ca, _ := files(cert[1])
					args = append(args, flag[2], ca)
				}
			}
			if c.groups != "" {
				args = append(args, "-groups", c.groups)
			}
			addr := d.SServer(t, args...)
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
			if want == nil && !slices.Contains(r.Notes, NoteMLDSAOnly) {
				t.Errorf("no ML-DSA-only note: %q", r.Notes)
			}
			// The group walk offers ML-DSA schemes too: an ML-DSA-only
			// server answers it (every configured group found, none broken).
			wantGroups := slices.Clone(deb13Default)
			if c.groups != "" {
				gs, _ := pqtls.ParseGroupList(c.groups)
				wantGroups = nil
				for _, g := range gs {
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

// TestInteropDeb13NginxTwoCerts scans nginx 1.26 (OpenSSL 3.5) with two
// ssl_certificate lines: an ECDSA P-256 certificate and an ML-DSA-87 chain
// (leaf + CA in one file), MLKEM1024 enabled. A Go 1.26 client gets the
// ECDSA certificate, a Go 1.27 one (ML-DSA offered) the ML-DSA chain; the
// ML-DSA probe finds exactly the ML-DSA-87 chain; CNSA 2.0 ready.
func TestInteropDeb13NginxTwoCerts(t *testing.T) {
	d := testpeer.Deb13(t)
	dir := d.TempDir(t)
	ca87, _ := d.OpenSSLCert(t, dir, "ca87", "ML-DSA-87", "")
	leaf87, key87 := d.OpenSSLCert(t, dir, "leaf87", "ML-DSA-87", "ca87")
	var chain []byte
	for _, f := range []string{leaf87, ca87} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, b...)
	}
	full := filepath.Join(dir, "leaf87-chain.pem")
	if err := os.WriteFile(full, chain, 0o644); err != nil {
		t.Fatal(err)
	}
	n := d.Nginx(t, testpeer.NginxOptions{ECDHCurve: "MLKEM1024:X25519MLKEM768:X25519",
		Extra: "    ssl_certificate " + full + ";\n    ssl_certificate_key " + key87 + ";\n"})
	r := scanPeer(t, peerTarget(t, "nginx two certs", n.Addr), n.CA)
	_, perr := pqtls.ParseAuth("prefer-pq")
	// testpeer's nginx sends its test CA after the leaf (both ECDSA P-256).
	want := [][2]string{{"ECDSA P-256", "ECDSA-SHA256"}, {"ECDSA P-256", "ECDSA-SHA256"}}
	if perr == nil {
		want = [][2]string{{"ML-DSA-87", "ML-DSA-87"}, {"ML-DSA-87", "ML-DSA-87"}}
	}
	if got := algPairs(r.Certificates); !slices.Equal(got, want) {
		t.Errorf("default client's chain %v, want %v", got, want)
	}
	if a := r.MLDSA; a == nil || a.Capable == nil || !*a.Capable || len(a.Chains) != 1 || a.Chains[0].Scheme != "mldsa87" ||
		!slices.Equal(algPairs(a.Chains[0].Certificates), [][2]string{{"ML-DSA-87", "ML-DSA-87"}, {"ML-DSA-87", "ML-DSA-87"}}) {
		t.Errorf("ml_dsa_auth %+v", a)
	}
	if r.CNSA2.Verdict != CNSA2Ready || !slices.Contains(r.CNSA2.KeyExchange, "MLKEM1024") {
		t.Errorf("cnsa2 %+v, want ready", r.CNSA2)
	}
}
