// Package exporter is the library behind 'pqtls exporter': a Prometheus
// multi-target exporter (the blackbox_exporter pattern) that reports the
// key-exchange group a TLS endpoint negotiates and whether it is
// post-quantum.
//
// GET /probe?target=host:port&module=NAME runs one [Probe] with the module's
// settings ([Module], loaded strictly from YAML by [LoadConfig]) and returns
// that probe's metrics only, from a registry made for the request. The probe
// is bounded by the module timeout and by Prometheus' scrape timeout header.
// &debug=true returns the probe's log instead (server banners redacted).
// Targets are checked against allowed_targets (resolved once, dialled only
// at the addresses checked) and probes are capped by max_concurrent_probes.
// STARTTLS preambles come from internal/starttls (parsed at load), group
// enumeration from the [Enumerator] the caller wires ('pqtls exporter' uses
// scan's engine: a tool package imports no other tool), the large-ClientHello
// case from internal/wire.
//
//	cfg, err := exporter.LoadConfig("exporter.yaml")
//	reg := prometheus.NewRegistry()
//	exp, err := exporter.New(exporter.Options{Config: cfg, ConfigFile: "exporter.yaml", Registerer: reg})
//	http.ListenAndServe(":9650", exp.Handler(reg))
//
// Metric names and labels: docs/METRICS.md. Configuration: docs/EXPORTER.md.
package exporter
