//go:build go1.27

package devpki

import (
	"crypto"
	"crypto/mldsa"
)

var mldsaParams = map[KeyType]func() mldsa.Parameters{
	MLDSA44: mldsa.MLDSA44,
	MLDSA65: mldsa.MLDSA65,
	MLDSA87: mldsa.MLDSA87,
}

// mldsaGenerator returns the key generator of an ML-DSA key type: Go 1.27
// has crypto/mldsa.
func mldsaGenerator(kt KeyType) func() (crypto.Signer, error) {
	params := mldsaParams[kt]
	return func() (crypto.Signer, error) {
		return mldsa.GenerateKey(params())
	}
}
