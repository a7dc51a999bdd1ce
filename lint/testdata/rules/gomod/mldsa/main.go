package main

import (
	"crypto/mldsa"
	"fmt"
)

func main() {
	k, err := mldsa.GenerateKey(mldsa.MLDSA65())
	fmt.Println(k != nil, err)
}
