// Package testpki is an in-memory certificate authority for tests.
//
// One call gives a CA, and one call per leaf gives a server or client
// certificate signed by it, as a tls.Certificate, as PEM bytes, and (when a
// non-Go peer needs them) as files:
//
//	ca := testpki.NewCA(t)                          // ECDSA P-256 CA
//	srv := ca.Server(t, testpki.CertOptions{})      // SANs localhost, 127.0.0.1, ::1
//	cli := ca.Client(t, testpki.CertOptions{CommonName: "api",
//		URIs: []string{"spiffe://example.org/ns/prod/sa/api"}})
//	serverTLS := ca.ServerTLS(srv, true)            // requires and verifies client certs
//	clientTLS := ca.ClientTLS("localhost", cli)
//	files := srv.WriteFiles(t, t.TempDir())         // cert.pem, key.pem (0600), ca.pem
//
// Key types: [ECDSAP256] (default), [RSA2048], [Ed25519]; choose with
// CAOptions.Key / CertOptions.Key. RSA keys are expensive to generate, so a
// small per-process pool of RSA keys is reused (every CA still has a unique
// subject, so a certificate from one CA never verifies against another).
//
// Negative cases: CertOptions.Expired (validity ended an hour ago),
// CertOptions.NotYetValid, and "a certificate from a different CA" is simply
// a second NewCA.
//
// For code that is not a test (examples, demos), [New] and [CA.Issue] return
// errors instead of failing a testing.TB.
package testpki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pqtls/pqtls/devpki"
)

// KeyType selects the key algorithm of a CA or a leaf certificate.
type KeyType string

// Key types.
const (
	// ECDSAP256 is ECDSA on NIST P-256 (the default: fast, universal).
	ECDSAP256 KeyType = "ecdsa-p256"
	// RSA2048 is 2048-bit RSA (keys come from a per-process pool).
	RSA2048 KeyType = "rsa-2048"
	// Ed25519 is Ed25519 (not accepted by Chromium for TLS server certs).
	Ed25519 KeyType = "ed25519"
)

// CAOptions configures [New] / [NewCA].
type CAOptions struct {
	// Key is the CA key type; default ECDSAP256.
	Key KeyType
	// CommonName of the CA; default "pqtls test CA <n>". A unique suffix is
	// always added so that two CAs never share a subject.
	CommonName string
}

// CertOptions configures a leaf certificate. The zero value is valid.
type CertOptions struct {
	// CommonName of the subject; default "localhost" for servers and
	// "client" for clients.
	CommonName string
	// OrganizationalUnit of the subject (OU), e.g. for ACLs by OU.
	OrganizationalUnit []string
	// Organization of the subject (O).
	Organization []string
	// DNSNames are DNS SANs. Server default: ["localhost"]; a client gets
	// none unless asked.
	DNSNames []string
	// IPs are IP SANs. Server default: 127.0.0.1 and ::1.
	IPs []net.IP
	// URIs are URI SANs, e.g. "spiffe://example.org/ns/prod/sa/api".
	URIs []string
	// Key is the leaf key type; default ECDSAP256.
	Key KeyType
	// NotBefore and NotAfter override the validity (default: an hour ago
	// to a day from now).
	NotBefore, NotAfter time.Time
	// Expired makes a certificate whose validity ended an hour ago.
	Expired bool
	// NotYetValid makes a certificate valid only from tomorrow.
	NotYetValid bool
	// NoDefaultSANs turns off the server defaults (localhost, 127.0.0.1, ::1).
	NoDefaultSANs bool
}

// CA is an in-memory certificate authority.
type CA struct {
	// Cert is the self-signed CA certificate.
	Cert *x509.Certificate
	// Key is the CA private key.
	Key crypto.Signer
	// CertPEM is Cert in PEM form.
	CertPEM []byte

	dev *devpki.CA
}

// Cert is an issued leaf certificate with its key.
type Cert struct {
	// TLS is ready for tls.Config.Certificates (Leaf is set; the chain is
	// the leaf alone, the CA being the trust anchor).
	TLS tls.Certificate
	// Leaf is the parsed certificate.
	Leaf *x509.Certificate
	// Key is the private key.
	Key crypto.Signer
	// CertPEM is the certificate in PEM form.
	CertPEM []byte
	// KeyPEM is the private key in PKCS#8 PEM form ("PRIVATE KEY").
	KeyPEM []byte
	// CA is the issuing CA.
	CA *CA
}

// Files are paths written by [Cert.WriteFiles].
type Files struct {
	// Dir is the folder holding the files.
	Dir string
	// Cert is the certificate PEM file (cert.pem, 0644).
	Cert string
	// Key is the private key PEM file (key.pem, 0600).
	Key string
	// CA is the issuing CA's certificate PEM file (ca.pem, 0644).
	CA string
}

var caCounter atomic.Int64

// NewCA returns a new CA with an ECDSA P-256 key, or the key type given. It
// fails the test on error.
func NewCA(tb testing.TB, key ...KeyType) *CA {
	tb.Helper()
	opts := CAOptions{}
	if len(key) > 0 {
		opts.Key = key[0]
	}
	ca, err := New(opts)
	if err != nil {
		tb.Fatalf("testpki: %v", err)
	}
	return ca
}

// New returns a new CA.
func New(opts CAOptions) (*CA, error) {
	key, err := newKey(opts.Key)
	if err != nil {
		return nil, err
	}
	n := caCounter.Add(1)
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	cn := opts.CommonName
	if cn == "" {
		cn = "pqtls test CA"
	}
	now := time.Now()
	dev, err := devpki.CreateCA(devpki.CARequest{
		CommonName:   fmt.Sprintf("%s %d-%x", cn, n, suffix),
		Organization: []string{"pqtls tests"},
		Key:          key,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
	})
	if err != nil {
		return nil, err
	}
	return &CA{Cert: dev.Leaf, Key: dev.Key, CertPEM: dev.CertPEM, dev: dev}, nil
}

// Pool returns a new cert pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	return ca.dev.Pool()
}

// WriteCertFile writes the CA certificate as <dir>/ca.pem (for peers that
// take a trust file: sslrootcert, --cacert, ssl_client_certificate) and
// returns its path, failing the test on error.
func (ca *CA) WriteCertFile(tb testing.TB, dir string) string {
	tb.Helper()
	if err := devpki.WriteFiles(dir, []devpki.File{{Name: "ca.pem", Data: ca.CertPEM, Mode: 0o644}}, true); err != nil {
		tb.Fatalf("testpki: %v", err)
	}
	return filepath.Join(dir, "ca.pem")
}

// Server issues a server certificate (ExtKeyUsage serverAuth), failing the
// test on error. Default SANs: localhost, 127.0.0.1, ::1.
func (ca *CA) Server(tb testing.TB, opts CertOptions) *Cert {
	tb.Helper()
	c, err := ca.Issue(opts, x509.ExtKeyUsageServerAuth)
	if err != nil {
		tb.Fatalf("testpki: %v", err)
	}
	return c
}

// Client issues a client certificate (ExtKeyUsage clientAuth), failing the
// test on error.
func (ca *CA) Client(tb testing.TB, opts CertOptions) *Cert {
	tb.Helper()
	c, err := ca.Issue(opts, x509.ExtKeyUsageClientAuth)
	if err != nil {
		tb.Fatalf("testpki: %v", err)
	}
	return c
}

// Issue issues a leaf certificate with the given extended key usages
// (serverAuth gets the server default SANs unless opts.NoDefaultSANs; with
// no usage at all the certificate is good for both serverAuth and
// clientAuth).
func (ca *CA) Issue(opts CertOptions, usage ...x509.ExtKeyUsage) (*Cert, error) {
	key, err := newKey(opts.Key)
	if err != nil {
		return nil, err
	}
	server := false
	for _, u := range usage {
		if u == x509.ExtKeyUsageServerAuth {
			server = true
		}
	}
	cn := opts.CommonName
	if cn == "" {
		cn = "client"
		if server {
			cn = "localhost"
		}
	}
	dns := append([]string(nil), opts.DNSNames...)
	ips := append([]net.IP(nil), opts.IPs...)
	if server && !opts.NoDefaultSANs {
		if len(dns) == 0 {
			dns = []string{"localhost"}
		}
		if len(ips) == 0 {
			ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		}
	}
	now := time.Now()
	nb, na := now.Add(-time.Hour), now.Add(24*time.Hour)
	switch {
	case opts.Expired:
		nb, na = now.Add(-48*time.Hour), now.Add(-time.Hour)
	case opts.NotYetValid:
		nb, na = now.Add(24*time.Hour), now.Add(48*time.Hour)
	}
	if !opts.NotBefore.IsZero() {
		nb = opts.NotBefore
	}
	if !opts.NotAfter.IsZero() {
		na = opts.NotAfter
	}
	c, err := ca.dev.Issue(devpki.Request{
		CommonName:         cn,
		Organization:       opts.Organization,
		OrganizationalUnit: opts.OrganizationalUnit,
		Hosts:              dns,
		IPs:                ips,
		URIs:               opts.URIs,
		ExtKeyUsage:        usage,
		Key:                key,
		NotBefore:          nb,
		NotAfter:           na,
	})
	if err != nil {
		return nil, err
	}
	return &Cert{TLS: c.TLS(), Leaf: c.Leaf, Key: c.Key, CertPEM: c.CertPEM, KeyPEM: c.KeyPEM, CA: ca}, nil
}

// ServerTLS returns a server tls.Config presenting cert. With clientAuth the
// server requires client certificates verified against this CA. MinVersion
// is TLS 1.2; curves are Go's defaults (callers set CurvePreferences).
func (ca *CA) ServerTLS(cert *Cert, clientAuth bool) *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS12}
	if clientAuth {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = ca.Pool()
	}
	return cfg
}

// ClientTLS returns a client tls.Config trusting only this CA, with the
// given server name, presenting cert when it is not nil.
func (ca *CA) ClientTLS(serverName string, cert *Cert) *tls.Config {
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: serverName, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{cert.TLS}
	}
	return cfg
}

// WriteFiles writes cert.pem, key.pem (mode 0600) and ca.pem into dir and
// returns their paths, failing the test on error.
func (c *Cert) WriteFiles(tb testing.TB, dir string) Files {
	tb.Helper()
	f, err := c.Write(dir, "")
	if err != nil {
		tb.Fatalf("testpki: %v", err)
	}
	return f
}

// Write writes <prefix>cert.pem, <prefix>key.pem (0600) and <prefix>ca.pem
// into dir (created if needed) and returns their paths.
func (c *Cert) Write(dir, prefix string) (Files, error) {
	err := devpki.WriteFiles(dir, []devpki.File{
		{Name: prefix + "cert.pem", Data: c.CertPEM, Mode: 0o644},
		{Name: prefix + "key.pem", Data: c.KeyPEM, Mode: 0o600},
		{Name: prefix + "ca.pem", Data: c.CA.CertPEM, Mode: 0o644},
	}, true)
	if err != nil {
		return Files{}, fmt.Errorf("write certificate files into %s: %w", dir, err)
	}
	return Files{
		Dir:  dir,
		Cert: filepath.Join(dir, prefix+"cert.pem"),
		Key:  filepath.Join(dir, prefix+"key.pem"),
		CA:   filepath.Join(dir, prefix+"ca.pem"),
	}, nil
}

// SPKIHash returns base64(SHA-256(SubjectPublicKeyInfo)) of the leaf, the
// form Chromium's --ignore-certificate-errors-spki-list and HPKP pins use.
func (c *Cert) SPKIHash() string {
	sum := sha256.Sum256(c.Leaf.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// ChainPEM returns the leaf followed by the CA certificate, for peers that
// want a full chain file (nginx ssl_certificate, haproxy crt).
func (c *Cert) ChainPEM() []byte {
	return append(append([]byte(nil), c.CertPEM...), c.CA.CertPEM...)
}

// CombinedPEM returns the leaf, the CA and the key in one PEM (haproxy's
// "crt" file format).
func (c *Cert) CombinedPEM() []byte {
	return bytes.Join([][]byte{c.CertPEM, c.CA.CertPEM, c.KeyPEM}, nil)
}

// rsaPool caches RSA-2048 keys per process: generating one costs ~100 ms
// on a shared 2-core machine. Keys are handed out round-robin once the pool
// is full; CA subjects are unique, so sharing a key never makes a
// certificate verify against the wrong CA.
var rsaPool struct {
	mu   sync.Mutex
	keys []*rsa.PrivateKey
	next int
}

const rsaPoolSize = 4

func rsaKey() (*rsa.PrivateKey, error) {
	rsaPool.mu.Lock()
	defer rsaPool.mu.Unlock()
	if len(rsaPool.keys) < rsaPoolSize {
		k, err := devpki.GenerateKey(devpki.RSA2048)
		if err != nil {
			return nil, fmt.Errorf("generate RSA key: %w", err)
		}
		rk := k.(*rsa.PrivateKey)
		rsaPool.keys = append(rsaPool.keys, rk)
		return rk, nil
	}
	k := rsaPool.keys[rsaPool.next%len(rsaPool.keys)]
	rsaPool.next++
	return k, nil
}

// newKey returns a key of type kt: RSA keys from the pool, the others
// freshly generated by devpki.
func newKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case RSA2048:
		return rsaKey()
	case "", ECDSAP256, Ed25519:
		return devpki.GenerateKey(devpki.KeyType(kt))
	}
	if dk, err := devpki.ParseKeyType(string(kt)); err == nil && dk.Supported() {
		return devpki.GenerateKey(dk) // ML-DSA-44/65/87 in Go 1.27 builds
	}
	return nil, errors.New("unknown key type " + string(kt) + ": use testpki.ECDSAP256, RSA2048, Ed25519, or a devpki ML-DSA type in Go 1.27 builds")
}
