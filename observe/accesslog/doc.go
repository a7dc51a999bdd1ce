// Package accesslog reads the logs a fleet already has (nginx, HAProxy,
// Envoy, Caddy, Traefik, AWS load balancers, Zeek, pqtls's own handshake
// log) and turns each line that records a TLS handshake into an
// observe.LogHandshake, so pqtls observe reports logs exactly like
// captures: pqtls.observe/v1 records with source "log", the summary table
// and the tls_handshake_* metrics.
//
// Formats are rows of one table (formats, in format.go); each row builds a
// Parser that maps its own field names onto the few fields pqtls needs
// (fields.go). Bad lines are counted with their line numbers and never
// stop the reader; memory is bounded whatever the input (one line at a
// time, at most MaxLineBytes each).
package accesslog
