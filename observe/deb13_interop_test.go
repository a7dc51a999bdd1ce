package observe

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// TestInteropDeb13Capture captures (tcpdump on lo) OpenSSL 3.5's s_client
// talking to nginx 1.26, HAProxy 3.0 and openssl s_server with hybrid,
// pure ML-KEM and classical group lists, and to PostgreSQL 17 after its
// SSLRequest, and checks that observe reads from the wire the group each
// server selected, as s_client itself reports it.
func TestInteropDeb13Capture(t *testing.T) {
	d, ca, cert := deb13Capture(t)
	type tc struct {
		name     string
		port     int
		offer    string // s_client -groups ("" = OpenSSL's default)
		outcome  string
		hrrGroup string
		extra    []string // more s_client arguments
	}
	cases := []tc{
		{"nginx default", d.Nginx(t, testpeer.NginxOptions{Cert: cert}).Port, "", OutcomeHybrid, "", nil},
		{"nginx X25519:prime256v1", d.Nginx(t, testpeer.NginxOptions{Cert: cert, ECDHCurve: "X25519:prime256v1"}).Port, "", OutcomeClassical, "", nil},
		// HAProxy's default list lacks SecP256r1MLKEM768: it asks for
		// X25519MLKEM768 with a HelloRetryRequest.
		{"haproxy default", d.HAProxy(t, testpeer.HAProxyOptions{Cert: cert}).Port, "SecP256r1MLKEM768:X25519MLKEM768", OutcomeHybrid, "X25519MLKEM768", nil},
		{"haproxy X25519:P-256", d.HAProxy(t, testpeer.HAProxyOptions{Cert: cert, Curves: "X25519:P-256"}).Port, "", OutcomeClassical, "", nil},
		{"s_server MLKEM768", d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: cert, Groups: "MLKEM768"}).Port, "MLKEM768", OutcomePQ, "", nil},
		{"s_server SecP384r1MLKEM1024", d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: cert, Groups: "SecP384r1MLKEM1024"}).Port, "SecP384r1MLKEM1024", OutcomeHybrid, "", nil},
		// PostgreSQL 17 after its SSLRequest: P-256 only, so OpenSSL's
		// default client (X25519MLKEM768 and X25519 shares) is asked to retry.
		{"postgres 17", d.Postgres(t, testpeer.PostgresOptions{Cert: cert}).Port, "", OutcomeClassical, "secp256r1", []string{"-starttls", "postgres"}},
	}
	var ports []string
	for _, c := range cases {
		ports = append(ports, "port "+strconv.Itoa(c.port))
	}
	capture := testpeer.Capture(t, testpeer.CaptureOptions{Filter: "tcp and (" + strings.Join(ports, " or ") + ")"})
	negotiated := map[int]string{}
	for _, c := range cases {
		g, err := d.OpenSSLClient(t, "127.0.0.1:"+strconv.Itoa(c.port), c.offer, ca, c.extra...)
		if err != nil {
			t.Fatalf("%s: s_client: %+v", c.name, err)
		}
		negotiated[c.port] = g
	}
	if _, err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	flows, st := analyzeFile(t, capture.Path)
	if st.Malformed != 0 {
		t.Errorf("%d malformed handshakes", st.Malformed)
	}
	for _, c := range cases {
		fs := flowsByPort(flows, c.port)
		if len(fs) != 1 {
			t.Errorf("%s: %d flows, want 1", c.name, len(fs))
			continue
		}
		f := fs[0]
		g, err := pqtls.ParseGroup(negotiated[c.port])
		if err != nil {
			t.Fatalf("%s: s_client group %q: %v", c.name, negotiated[c.port], err)
		}
		if f.SelectedGroup != g.Name || f.Outcome != c.outcome || f.Version != "TLS 1.3" || f.SNI != "localhost" {
			t.Errorf("%s: observe saw %s/%s/%s sni %q; s_client negotiated %s, want outcome %s", c.name, f.SelectedGroup, f.Outcome, f.Version, f.SNI, g.Name, c.outcome)
		}
		if f.HRRGroup != c.hrrGroup || f.HRR != (c.hrrGroup != "") {
			t.Errorf("%s: HRR %v group %q, want %q", c.name, f.HRR, f.HRRGroup, c.hrrGroup)
		}
		t.Logf("%s: s_client %s, observe %s (%s), offered %v", c.name, negotiated[c.port], f.SelectedGroup, f.Outcome, f.OfferedGroups)
	}
}

// TestInteropDeb13MLDSACapability captures (tcpdump on lo) OpenSSL 3.5
// clients of the Debian 13 tree and checks what observe reads from their
// ClientHellos: curl 8.14 with its defaults offers mldsa44/65/87 (ml-dsa),
// s_client -sigalgs without ML-DSA is classical, and curl --tls-max 1.2 is
// flagged tls12_only.
func TestInteropDeb13MLDSACapability(t *testing.T) {
	d, ca, cert := deb13Capture(t)
	sCurl := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: cert})
	sClassical := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: cert})
	sTLS12 := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Cert: cert})
	ports := []int{sCurl.Port, sClassical.Port, sTLS12.Port}
	capture := testpeer.Capture(t, testpeer.CaptureOptions{Filter: "tcp and (port " + strconv.Itoa(ports[0]) + " or port " + strconv.Itoa(ports[1]) + " or port " + strconv.Itoa(ports[2]) + ")"})
	if _, err := d.Curl(t, "https://localhost:"+strconv.Itoa(sCurl.Port)+"/", "", ca); err != nil {
		t.Fatalf("curl: %v", err)
	}
	if _, err := d.OpenSSLClient(t, sClassical.Addr, "", ca, "-sigalgs", "ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256"); err != nil {
		t.Fatalf("s_client -sigalgs: %v", err)
	}
	// The server is TLS 1.3 only: the handshake fails, the ClientHello is
	// on the wire all the same.
	_, _ = d.Run("/usr/bin/curl", "-sS", "--max-time", "10", "--tls-max", "1.2", "--cacert", ca.WriteCertFile(t, d.TempDir(t)), "https://localhost:"+strconv.Itoa(sTLS12.Port)+"/")
	if _, err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	flows, _ := analyzeFile(t, capture.Path)
	for i, want := range []string{AuthCapMLDSA, AuthCapClassical, AuthCapTLS12Only} {
		fs := flowsByPort(flows, ports[i])
		if len(fs) != 1 {
			t.Errorf("%s: %d flows, want 1", want, len(fs))
			continue
		}
		f := fs[0]
		mldsa := slices.Contains(f.OfferedSignatureAlgorithms, "mldsa44") && slices.Contains(f.OfferedSignatureAlgorithms, "mldsa65") && slices.Contains(f.OfferedSignatureAlgorithms, "mldsa87")
		if f.AuthCapability != want || mldsa != (want == AuthCapMLDSA) {
			t.Errorf("port %d: auth_capability %q, sigalgs %v; want %s", ports[i], f.AuthCapability, f.OfferedSignatureAlgorithms, want)
		}
		t.Logf("%s: %v", f.AuthCapability, f.OfferedSignatureAlgorithms)
	}
}

// deb13Capture is the setup of the capture tests against the Debian 13
// tree: tcpdump and the tree are required, and a CA with a localhost
// server certificate is made.
func deb13Capture(t *testing.T) (*testpeer.Debian13, *testpki.CA, *testpki.Cert) {
	t.Helper()
	testpeer.Require(t, testpeer.PeerTcpdump)
	d := testpeer.Deb13(t)
	ca := testpki.NewCA(t)
	return d, ca, ca.Server(t, testpki.CertOptions{})
}
