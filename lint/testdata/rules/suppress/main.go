package main

import (
	"crypto/tls"
	"os"
)

func main() {
	cfg := &tls.Config{MaxVersion: tls.VersionTLS12} // pqtls-lint:ignore PQ102 HSM firmware limit
	_ = cfg
	os.Setenv("NOTE", "pqtls-lint:ignore PQ104 in a string is not a comment")
	os.Setenv("GODEBUG", "tlsmlkem=0")
}
