package exporter

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkServeProbe measures one /probe (HTTP handler, fresh registry,
// TLS handshake, metric encoding) against an in-process Go TLS server, per
// module kind. For where the CPU goes beyond the handshake:
//
//	go test -run '^$' -bench ServeProbe/hybrid -benchtime 2000x -cpuprofile cpu.out ./exporter
//	go tool pprof -top -focus 'ServeProbe$' cpu.out
func BenchmarkServeProbe(b *testing.B) {
	p := newPKI(b)
	srv := tlsServer(b, p, nil)
	e := newExporter(b, mustConfig(b, "allowed_targets: [127.0.0.1/32]\nmodules:\n  classical:\n    policy: classical\n    ca_file: "+p.caFile+
		"\n  hybrid:\n    ca_file: "+p.caFile+"\n  enumerate:\n    ca_file: "+p.caFile+"\n    enumerate: true\n"), nil)
	h := e.Handler(nil)
	for _, module := range []string{"classical", "hybrid", "enumerate"} {
		b.Run(module, func(b *testing.B) {
			q := "/probe?" + url.Values{"target": {srv}, "module": {module}}.Encode()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, q, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("HTTP %d", rec.Code)
				}
			}
		})
	}
}
