//go:debug tlsmlkem=0

// Command server is a payments API written before Go 1.24: its TLS settings
// were copied from a 2021 hardening guide.
package main

import (
	"crypto/tls"
	"log"
	"net/http"
	"os"
)

// legacyCurves is shared by the server and the client below.
var legacyCurves = []tls.CurveID{tls.X25519, tls.CurveP256}

func serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS12,
		MaxVersion:       tls.VersionTLS12,
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384},
	}
}

func clientConfig() *tls.Config {
	cfg := &tls.Config{CurvePreferences: legacyCurves}
	cfg.MaxVersion = 0x0303
	return cfg
}

func main() {
	// An incident in 2025 was "fixed" by turning the hybrid off.
	os.Setenv("GODEBUG", "tlsmlkem=0,tlssecpmlkem=0")
	cfg := serverConfig()
	cfg.CurvePreferences = []tls.CurveID{tls.CurveID(0x0017)}
	_ = clientConfig()
	srv := &http.Server{Addr: ":8443", TLSConfig: cfg}
	log.Fatal(srv.ListenAndServeTLS("cert.pem", "key.pem"))
}

func childEnv() []string {
	return append(os.Environ(), "GODEBUG=tlsmlkem=0")
}
