//go:build go1.27

package main

import (
	"crypto/mldsa"
	"fmt"
)

func run() {
	k, err := mldsa.GenerateKey(mldsa.MLDSA87())
	fmt.Println(k != nil, err)
}
