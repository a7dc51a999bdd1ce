//go:build !go1.27

package main

import "fmt"

// run says what the Go 1.26 build cannot do (it mentions crypto/mldsa in a
// comment only).
func run() { fmt.Println("needs Go 1.27 or later") }
