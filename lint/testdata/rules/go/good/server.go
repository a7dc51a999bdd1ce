//go:debug tlsmlkem=1

// Command server shows settings that must not be flagged.
package main

import (
	"crypto/tls"
	"fmt"
	"os"
)

type limits struct{ MaxVersion uint16 }

func curvesFromFlags() []tls.CurveID { return nil }

func configs() []*tls.Config {
	// CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256},  (old setting, kept for history)
	/* MaxVersion: tls.VersionTLS12, */
	a := &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}, MaxVersion: tls.VersionTLS13}
	b := &tls.Config{CurvePreferences: []tls.CurveID{tls.SecP256r1MLKEM768, tls.CurveP256}}
	c := &tls.Config{CurvePreferences: curvesFromFlags()}
	d := &tls.Config{CurvePreferences: []tls.CurveID{}}
	e := &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveID(0x11ec), tls.X25519}}
	f := &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}} // pqtls-lint:ignore PQ101 talks to a 2019 appliance only
	return []*tls.Config{a, b, c, d, e, f}
}

func main() {
	l := limits{MaxVersion: 0x0303} // not a tls.Config
	os.Setenv("GODEBUG", "tlsmlkem=1,http2client=0")
	fmt.Println(l, len(configs()), "the old GODEBUG was tlsmlkem=01 and is gone")
}

func explain() string {
	return "an old go line implies tlsmlkem=0 for the main module"
}
