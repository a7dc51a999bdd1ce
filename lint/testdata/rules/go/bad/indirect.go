package main

import (
	"crypto/tls"
	"os"
)

// The cap was meant to be temporary (INC-1870).
const maxTLS = tls.VersionTLS12

// interopConfig keeps the partner link on the version the partner's
// appliance handled in 2021.
func interopConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: maxTLS}
}

// disableHybrid appends to whatever GODEBUG the process already has.
func disableHybrid() {
	os.Setenv("GODEBUG", os.Getenv("GODEBUG")+",tlsmlkem=0")
}

var _, _ = interopConfig, disableHybrid
