// Package pqtls builds crypto/tls configurations that negotiate hybrid
// post-quantum key exchange (X25519MLKEM768 and its siblings) with an explicit
// policy, and instruments handshakes with Prometheus metrics and structured
// logs.
//
// The three policy modes are:
//
//   - prefer (default): offer hybrid groups first, accept any peer;
//   - require: offer and accept hybrid groups only; a classical-only peer is
//     refused before any key exchange with a typed [*PolicyError];
//   - classical: offer classical groups only (the rollback switch).
//
// A typical server (the runnable version is the package Example):
//
//	metrics, err := pqtls.NewMetrics(registry) // your prometheus.Registerer
//	obs := &pqtls.Observer{Metrics: metrics, Logger: logger}
//	cfg, err := pqtls.ServerConfig(pqtls.Options{
//		Policy: pqtls.Policy{Mode: pqtls.ModeRequire},
//		Base:   &tls.Config{Certificates: certs},
//		Logger: logger,
//	})
//	ln, err := pqtls.Listen("tcp", ":8443", cfg, pqtls.ListenerOptions{Observer: obs})
//
// and a client:
//
//	cfg, err := pqtls.ClientConfig(pqtls.Options{Base: &tls.Config{RootCAs: pool}})
//	d := &pqtls.Dialer{Config: cfg, Observer: obs}
//	conn, err := d.DialContext(ctx, "tcp", "api.internal:8443")
//
// The group registry ([Groups], [ParseGroup]) is the single source of truth
// for every named group the pqtls tools deal with, including the ones Go's
// crypto/tls cannot negotiate (pure ML-KEM, curveSM2MLKEM768, the obsolete
// Kyber drafts, x448, FFDHE).
//
// Library code never logs to a global logger and never registers metrics on
// the global Prometheus registry: callers pass a *slog.Logger (nil discards)
// and a prometheus.Registerer.
package pqtls
