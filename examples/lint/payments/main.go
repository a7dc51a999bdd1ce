// Command payments is a small service with the TLS settings pqtls lint
// exists to catch: a curve list from an old hardening guide and a TLS 1.2 cap.
package main

import (
	"crypto/tls"
	"log"
	"net/http"
)

func main() {
	cfg := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		MaxVersion:       tls.VersionTLS12,
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256},
	}
	// The admin port talks to a 2019 appliance; accepted until it is replaced.
	admin := &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256}} // pqtls-lint:ignore PQ101 appliance only does P-256 (TICKET-812)
	_ = admin
	srv := &http.Server{Addr: ":8443", TLSConfig: cfg}
	log.Fatal(srv.ListenAndServeTLS("cert.pem", "key.pem"))
}
