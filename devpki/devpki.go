// Package devpki creates a development certificate authority and the server
// and client certificates issued by it, in memory or as PEM files. It backs
// 'pqtls certs dev' and 'pqtls demo', so a newcomer can try hybrid TLS and
// the tunnel in a minute. It is not meant for production PKI: keys live in
// files written with mode 0600, and nothing is revoked.
//
// The certificates use classical signatures by default (ECDSA P-256). A
// pqtls built with Go 1.27 or later also makes post-quantum ML-DSA-44/65/87
// chains (FIPS 204, TLS 1.3 only); older builds refuse those key types with
// [ErrNeedsGo127].
package devpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// KeyType selects the key algorithm of a certificate.
type KeyType string

// Key types.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	RSA2048   KeyType = "rsa-2048"
	Ed25519   KeyType = "ed25519"
	// MLDSA44, MLDSA65 and MLDSA87 are the post-quantum ML-DSA (FIPS 204)
	// parameter sets. They need pqtls built with Go 1.27 or later
	// (crypto/mldsa); see [KeyType.Supported].
	MLDSA44 KeyType = "ml-dsa-44"
	MLDSA65 KeyType = "ml-dsa-65"
	MLDSA87 KeyType = "ml-dsa-87"
)

// ErrNeedsGo127 is returned for an ML-DSA key type by a pqtls built with a
// Go release older than 1.27, which has no crypto/mldsa.
var ErrNeedsGo127 = errors.New("needs pqtls built with Go 1.27 or later")

// keyTypeRow is one key type: the names it is given on the command line and
// how its keys are made (nil generate: not available in this build).
type keyTypeRow struct {
	aliases  []string
	generate func() (crypto.Signer, error)
}

// keyTypes is the key type registry. mldsaGenerator comes from
// devpki_go127.go (Go 1.27+) or devpki_go126.go (nil: not available).
var keyTypes = map[KeyType]*keyTypeRow{
	ECDSAP256: {aliases: []string{"", "ecdsa", "p256"}, generate: func() (crypto.Signer, error) {
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}},
	RSA2048: {aliases: []string{"rsa"}, generate: func() (crypto.Signer, error) {
		return rsa.GenerateKey(rand.Reader, 2048)
	}},
	Ed25519: {generate: func() (crypto.Signer, error) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}},
	MLDSA44: {aliases: []string{"mldsa44"}, generate: mldsaGenerator(MLDSA44)},
	MLDSA65: {aliases: []string{"mldsa65"}, generate: mldsaGenerator(MLDSA65)},
	MLDSA87: {aliases: []string{"mldsa87"}, generate: mldsaGenerator(MLDSA87)},
}

// keyTypeOrder lists the key types in the order usage messages name them.
var keyTypeOrder = []KeyType{ECDSAP256, RSA2048, Ed25519, MLDSA44, MLDSA65, MLDSA87}

func keyTypeList() string {
	names := make([]string, len(keyTypeOrder))
	for i, kt := range keyTypeOrder {
		names[i] = string(kt)
	}
	names[0] += " (default)"
	return strings.Join(names, ", ")
}

// ParseKeyType parses a key type name, trimmed and case-insensitive; the
// empty string is ECDSAP256. ML-DSA names parse in every build: use
// [KeyType.Supported] to learn whether this build can generate them.
func ParseKeyType(s string) (KeyType, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for _, kt := range keyTypeOrder {
		if name == string(kt) {
			return kt, nil
		}
		for _, a := range keyTypes[kt].aliases {
			if name == a {
				return kt, nil
			}
		}
	}
	return "", fmt.Errorf("unknown key type %q: use one of %s", s, keyTypeList())
}

// Supported reports whether this build can generate keys of type kt
// (ML-DSA needs Go 1.27 or later).
func (kt KeyType) Supported() bool {
	if kt == "" {
		kt = ECDSAP256
	}
	row := keyTypes[kt]
	return row != nil && row.generate != nil
}

// GenerateKey returns a new private key of type kt (the empty string is
// ECDSAP256). An ML-DSA type in a build older than Go 1.27 returns an error
// wrapping [ErrNeedsGo127].
func GenerateKey(kt KeyType) (crypto.Signer, error) {
	if kt == "" {
		kt = ECDSAP256
	}
	row := keyTypes[kt]
	if row == nil {
		return nil, fmt.Errorf("unknown key type %q: use one of %s", kt, keyTypeList())
	}
	if row.generate == nil {
		return nil, fmt.Errorf("key type %s %w", kt, ErrNeedsGo127)
	}
	return row.generate()
}

// Cert is an issued certificate with its key.
type Cert struct {
	// Leaf is the parsed certificate.
	Leaf *x509.Certificate
	// Key is the private key.
	Key crypto.Signer
	// CertPEM and KeyPEM are the PEM encodings (the key as PKCS#8).
	CertPEM, KeyPEM []byte
}

// TLS returns the certificate as a tls.Certificate.
func (c *Cert) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.Leaf.Raw}, PrivateKey: c.Key, Leaf: c.Leaf}
}

// CA is a development certificate authority.
type CA struct {
	Cert
}

// Pool returns a certificate pool holding the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Leaf)
	return p
}

// NewCA creates a self-signed CA valid for ten years.
func NewCA(commonName string, kt KeyType) (*CA, error) {
	return CreateCA(CARequest{CommonName: commonName, KeyType: kt})
}

// CARequest describes a CA to create with [CreateCA].
type CARequest struct {
	// CommonName is the subject CN.
	CommonName string
	// Organization is the subject O; default "pqtls development CA".
	Organization []string
	// KeyType defaults to ECDSA P-256.
	KeyType KeyType
	// Key, when set, is used instead of generating a key of KeyType (for
	// callers that cache expensive keys).
	Key crypto.Signer
	// NotBefore and NotAfter default to now-1h and now+10 years.
	NotBefore, NotAfter time.Time
}

// CreateCA creates a self-signed CA as r describes.
func CreateCA(r CARequest) (*CA, error) {
	key, err := keyFor(r.Key, r.KeyType)
	if err != nil {
		return nil, err
	}
	org := r.Organization
	if org == nil {
		org = []string{"pqtls development CA"}
	}
	now := time.Now()
	// A nil SerialNumber makes crypto/x509 draw a random RFC 5280 serial.
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: r.CommonName, Organization: org},
		NotBefore:             orDefault(r.NotBefore, now.Add(-time.Hour)),
		NotAfter:              orDefault(r.NotAfter, now.AddDate(10, 0, 0)),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	c, err := sign(tmpl, tmpl, key.Public(), key, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate %q: %w", r.CommonName, err)
	}
	return &CA{Cert: *c}, nil
}

func keyFor(key crypto.Signer, kt KeyType) (crypto.Signer, error) {
	if key != nil {
		return key, nil
	}
	return GenerateKey(kt)
}

func orDefault(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

// Request describes a certificate to issue.
type Request struct {
	// CommonName is the subject CN.
	CommonName string
	// Organization is the subject O.
	Organization []string
	// OrganizationalUnit is the subject OU.
	OrganizationalUnit []string
	// Hosts are DNS names and IP addresses for the SAN extension.
	Hosts []string
	// IPs are IP address SANs, added after those found in Hosts.
	IPs []net.IP
	// URIs are URI SANs, such as SPIFFE IDs (spiffe://example.org/svc).
	URIs []string
	// Server and Client select the extended key usages (both if neither).
	Server, Client bool
	// ExtKeyUsage, when not empty, is used instead of the usages that
	// Server and Client select.
	ExtKeyUsage []x509.ExtKeyUsage
	// KeyType defaults to ECDSA P-256.
	KeyType KeyType
	// Key, when set, is used instead of generating a key of KeyType (for
	// callers that cache expensive keys).
	Key crypto.Signer
	// NotBefore and NotAfter default to now-1h and now+1 year.
	NotBefore, NotAfter time.Time
}

// Issue issues a certificate signed by the CA.
func (ca *CA) Issue(r Request) (*Cert, error) {
	key, err := keyFor(r.Key, r.KeyType)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	// A nil SerialNumber makes crypto/x509 draw a random RFC 5280 serial.
	tmpl := &x509.Certificate{
		Subject: pkix.Name{
			CommonName:         r.CommonName,
			Organization:       r.Organization,
			OrganizationalUnit: r.OrganizationalUnit,
		},
		NotBefore:   orDefault(r.NotBefore, now.Add(-time.Hour)),
		NotAfter:    orDefault(r.NotAfter, now.AddDate(1, 0, 0)),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: append([]x509.ExtKeyUsage(nil), r.ExtKeyUsage...),
	}
	if _, isRSA := key.(*rsa.PrivateKey); isRSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if len(r.ExtKeyUsage) == 0 {
		if r.Server || !r.Client {
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		}
		if r.Client || !r.Server {
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
		}
	}
	for _, h := range r.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			if err := checkDNSName(h); err != nil {
				return nil, err
			}
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	tmpl.IPAddresses = append(tmpl.IPAddresses, r.IPs...)
	for _, u := range r.URIs {
		parsed, err := url.Parse(u)
		if err != nil || parsed.Scheme == "" {
			return nil, fmt.Errorf("URI SAN %q is not an absolute URI: use e.g. spiffe://example.org/service", u)
		}
		tmpl.URIs = append(tmpl.URIs, parsed)
	}
	c, err := sign(tmpl, ca.Leaf, key.Public(), ca.Key, key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate %q: %w", r.CommonName, err)
	}
	return c, nil
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer, key crypto.Signer) (*Cert, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Cert{
		Leaf:    leaf,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}, nil
}

// checkDNSName rejects what no TLS client would match: ports, URLs, spaces,
// empty labels. A leading "*." wildcard label is allowed.
func checkDNSName(h string) error {
	if _, _, err := net.SplitHostPort(h); err == nil {
		return fmt.Errorf("host %q has a port: give the name or address only", h)
	}
	name := strings.TrimPrefix(h, "*.")
	if len(name) > 253 {
		return fmt.Errorf("host name %q is longer than 253 characters", h)
	}
	labels := strings.Split(name, ".")
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("host %q looks like an IP address but is not one: fix it", h)
	}
	for _, label := range labels {
		ok := label != "" && len(label) <= 63 && label[0] != '-' && label[len(label)-1] != '-'
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				ok = false
			}
		}
		if !ok {
			return fmt.Errorf("host %q is neither an IP address nor a DNS name (letters, digits and hyphens between dots, e.g. db.internal): fix the name", h)
		}
	}
	return nil
}

// File is one file to write.
type File struct {
	// Name is the file name inside the directory (no path separators).
	Name string
	// Data is the file content.
	Data []byte
	// Mode is the permission bits, e.g. 0o600 for a private key.
	Mode os.FileMode
}

// WriteFiles writes files into dir, creating it. Unless force is set, it
// refuses to overwrite any existing file and writes nothing in that case.
// Each file is written to a temporary name and renamed, so no half-written
// file is left behind.
func WriteFiles(dir string, files []File, force bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w: choose a writable --out directory", dir, err)
	}
	if !force {
		var existing []string
		for _, f := range files {
			if _, err := os.Lstat(filepath.Join(dir, f.Name)); err == nil {
				existing = append(existing, f.Name)
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		if len(existing) > 0 {
			return fmt.Errorf("%s already has %s: choose another --out directory or pass --force to overwrite", dir, strings.Join(existing, ", "))
		}
	}
	for _, f := range files {
		tmp, err := os.CreateTemp(dir, "."+f.Name+".tmp*")
		if err != nil {
			return err
		}
		_, werr := tmp.Write(f.Data)
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), f.Mode)); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		if err := os.Rename(tmp.Name(), filepath.Join(dir, f.Name)); err != nil {
			os.Remove(tmp.Name())
			return err
		}
	}
	return nil
}
