package main

import "crypto/tls"

// pqtls-lint:ignore PQ101 the FIPS module in front of the terminals only does P-256
var terminals = &tls.Config{
	MinVersion:       tls.VersionTLS12,
	CurvePreferences: []tls.CurveID{tls.CurveP256},
}

// pqtls-lint:ignore PQ101 above a function: does not cover its body
func web() *tls.Config {
	return &tls.Config{
		CurvePreferences: []tls.CurveID{tls.X25519},
	}
}

var _, _ = terminals, web
