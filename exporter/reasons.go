package exporter

import "github.com/pqtls/pqtls"

// Reasons lists every value of the reason label of
// probe_tls_failure_info: the exporter's own connect and STARTTLS reasons,
// then pqtls.Reasons() (handshake failures). The docs test iterates it.
func Reasons() []string {
	return append([]string{ReasonRefused, ReasonUnreachable, ReasonDNS, ReasonNoStartTLS}, pqtls.Reasons()...)
}

// RefusedReasons lists the values of the reason label of
// pqtls_exporter_probes_refused_total.
func RefusedReasons() []string {
	return []string{RefusedTargetNotAllowed, RefusedConcurrency}
}
