// Package promreg is the one registration helper of pqtls: several users of
// one Prometheus registry (two listeners, two tunnels, a tunnel and the
// library's handshake metrics) share the collectors already registered
// instead of failing or counting into an unregistered copy.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg. When reg already holds an equal collector
// (same name, labels and help) of the same Go type, it returns that one, so
// every user records into the registered series. Any other error (a
// different metric under the same name) is returned with c.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// Each registers every collector cs point to with Register, replacing each
// with the collector already on reg where there is one. It stops at the
// first error.
func Each[C prometheus.Collector](reg prometheus.Registerer, cs ...*C) error {
	for _, c := range cs {
		var err error
		if *c, err = Register(reg, *c); err != nil {
			return err
		}
	}
	return nil
}
