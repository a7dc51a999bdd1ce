package main

import (
	"crypto/tls"
	"testing"
)

// The fallback test pins a classical group on purpose.
func TestClassicalFallback(t *testing.T) {
	cfg := &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}}
	if len(cfg.CurvePreferences) != 1 {
		t.Fatal("want one group")
	}
}
