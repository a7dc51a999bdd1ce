// Command gateway uses the pqtls library; its policy was rolled back during
// an incident and never restored.
package main

import (
	"crypto/tls"
	"log"

	pq "github.com/pqtls/pqtls"
)

func main() {
	p := pq.Policy{Mode: pq.ModeClassical}
	q, _, err := pq.ParsePolicy("classical", "", "")
	if err != nil {
		log.Fatal(err)
	}
	ok := pq.Policy{Mode: pq.ModeRequire}
	m, _ := pq.ParseMode("prefer")
	legacy := pq.Policy{Mode: pq.ModePrefer, Groups: []tls.CurveID{tls.X25519, tls.CurveP256}}
	hybrid := pq.Policy{Groups: []tls.CurveID{tls.X25519MLKEM768, tls.X25519}}
	log.Println(p, q, ok, m, legacy, hybrid)
}
