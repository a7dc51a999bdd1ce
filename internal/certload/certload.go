// Package certload is the one loader of TLS material from files in pqtls:
// CA bundles (LoadPool) and certificate/key pairs (LoadKeyPair) for the
// CLI flags, the exporter's modules and the tunnel's listeners, and their
// reloadable form (KeyPair) with a file watcher (Watch) for
// long-running servers.
//
// The reloadable form follows ghostunnel's certloader: the material sits
// behind an atomic pointer, a reload reads and checks everything before it
// swaps, and a failed reload (a missing file, a certificate written before
// its key, a bundle cut short) keeps the previous material and returns the
// error. Watch watches the folders that hold the files, not the files, so
// a rename over a file and a Kubernetes secret update (a swap of the
// "..data" symlink) both trigger a reload.
package certload

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/pqtls/pqtls"
)

// ErrNoCertificate is returned (wrapped) for a CA bundle with no PEM
// CERTIFICATE block.
var ErrNoCertificate = errors.New("no PEM certificate found")

// LoadPool reads a PEM CA bundle into a new pool. The error names the file
// and says what to fix.
func LoadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA bundle %s: %w: give a PEM file with one or more CERTIFICATE blocks", path, ErrNoCertificate)
	}
	return pool, nil
}

// LoadKeyPair reads a PEM certificate (chain) and its private key with
// pqtls.LoadX509KeyPair: Leaf is always set, and an ML-DSA certificate in a
// binary built with Go older than 1.27 is a *pqtls.ConfigError that says so.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	return pqtls.LoadX509KeyPair(certFile, keyFile)
}

// Reloader is material that can be read again from its files.
type Reloader interface {
	// Reload reads the files again; on error the previous material stays.
	Reload() error
	// Files lists the files the material is read from.
	Files() []string
}

// KeyPair is a certificate and key that can be reloaded while TLS
// connections use it. Use GetCertificate (servers) or GetClientCertificate
// (clients) in a tls.Config so each handshake sees the current pair.
type KeyPair struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// NewKeyPair loads certFile and keyFile.
func NewKeyPair(certFile, keyFile string) (*KeyPair, error) {
	k := &KeyPair{certFile: certFile, keyFile: keyFile}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload reads the pair again. A pair that does not load (a file missing or
// cut short, a key that does not match the certificate, as when the
// certificate was replaced before the key) leaves the previous pair in use.
func (k *KeyPair) Reload() error {
	c, err := LoadKeyPair(k.certFile, k.keyFile)
	if err != nil {
		return err
	}
	k.cur.Store(&c)
	return nil
}

// Files returns the certificate and key paths.
func (k *KeyPair) Files() []string { return []string{k.certFile, k.keyFile} }

// Certificate returns the current pair.
func (k *KeyPair) Certificate() *tls.Certificate { return k.cur.Load() }

// GetCertificate is a tls.Config.GetCertificate returning the current pair.
func (k *KeyPair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return k.cur.Load(), nil
}

// GetClientCertificate is a tls.Config.GetClientCertificate returning the
// current pair.
func (k *KeyPair) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return k.cur.Load(), nil
}
