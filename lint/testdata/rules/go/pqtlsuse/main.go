// Command gateway uses the pqtls library; its policy was rolled back during
// an incident and never restored.
package main

import (
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
	log.Println(p, q, ok, m)
}
