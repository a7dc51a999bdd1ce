// Command signer makes the ML-DSA-65 key of the internal CA.
package main

import (
	"crypto/mldsa"
	"fmt"
	"os"
)

func main() {
	k, err := mldsa.GenerateKey(mldsa.MLDSA65())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(len(k.Bytes()))
}
