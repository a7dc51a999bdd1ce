//go:build !go1.27

package pqtls

import (
	"crypto/tls"
	"crypto/x509"
)

// mldsaSupported: Go before 1.27 has no ML-DSA in crypto/x509 and
// crypto/tls, so ParseAuth refuses every mode but any.
const mldsaSupported = false

func isMLDSAKey(*x509.Certificate) bool { return false }

func chainIsMLDSA(cs tls.ConnectionState, _ bool) (bool, string) {
	return false, "a classical chain (this binary was built with Go < 1.27)"
}

func certIsMLDSA(tls.Certificate) bool { return false }

// localAuthKind: Go < 1.27 does not report the local certificate; every
// certificate it can serve is classical. A resumed handshake sends none.
func localAuthKind(cs tls.ConnectionState) string {
	if cs.DidResume {
		return ""
	}
	return AuthKindClassical
}
