package broken

import "crypto/tls"

func cfg() *tls.Config {
	return &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}
}
