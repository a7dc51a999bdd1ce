package verify

import (
	ctls "crypto/tls"
	"crypto/x509"
)

// Schemes are the ML-DSA signature schemes this package accepts.
var Schemes = []ctls.SignatureScheme{ctls.MLDSA65, ctls.MLDSA87}

// Kind is the signature algorithm of an ML-DSA-65 certificate.
var Kind = x509.MLDSA65
