package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// daemonRegistry is the registry of a long-running command (exporter,
// tunnel): besides the command's own metrics it serves the standard go_*
// and process_* collectors, so RSS, descriptors and goroutines can be
// watched against the connection count.
func daemonRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
