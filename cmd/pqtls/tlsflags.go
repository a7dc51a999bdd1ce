package main

import (
	"crypto/tls"
	"crypto/x509"

	"github.com/pqtls/pqtls/internal/certload"
)

// caFlag loads the --ca bundle through internal/certload: nil without one,
// a usage error naming the flag when it does not load.
func caFlag(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	pool, err := certload.LoadPool(path)
	if err != nil {
		return nil, usageErrorf("--ca: %v", err)
	}
	return pool, nil
}

// keyPairFlags loads --cert/--key through internal/certload: nil without
// them, a usage error when only one is given or the pair does not load.
func keyPairFlags(cert, key string) (*tls.Certificate, error) {
	if (cert == "") != (key == "") {
		return nil, usageErrorf("--cert and --key go together")
	}
	if cert == "" {
		return nil, nil
	}
	c, err := certload.LoadKeyPair(cert, key)
	if err != nil {
		return nil, usageErrorf("--cert/--key: %v (check the paths and that the key matches the certificate)", err)
	}
	return &c, nil
}
