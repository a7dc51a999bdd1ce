//go:build !go1.27

package devpki

import "crypto"

// mldsaGenerator is nil before Go 1.27 (no crypto/mldsa): GenerateKey then
// returns ErrNeedsGo127 for the ML-DSA key types.
func mldsaGenerator(KeyType) func() (crypto.Signer, error) { return nil }
