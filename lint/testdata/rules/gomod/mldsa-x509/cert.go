// Package certs builds ML-DSA certificate templates.
package certs

import (
	"crypto/tls"
	x "crypto/x509"
)

// Template asks for an ML-DSA-65 signature.
var Template = x.Certificate{SignatureAlgorithm: x.MLDSA65}

// Pref is the TLS preference.
var Pref = tls.Config{}
