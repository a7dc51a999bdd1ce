package main

import (
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/tunnel"
)

// TestTunnelLogFlushesAllButConnectionLines: only the per-connection lines
// wait in the batch; a reload error (or any other line) is written before
// the call returns, so a crash right after it cannot lose it; Close writes
// the batched rest.
func TestTunnelLogFlushesAllButConnectionLines(t *testing.T) {
	var out testpeer.Buffer
	buf := newBufferedLog(&out)
	log := newTunnelLogger(buf, tunnel.LogConfig{Format: "json"}).With("pid", 1)
	log.Info(tunnel.ConnectionLogMessage, "peer", "first")
	log.Error("tunnel reload failed; keeping the previous certificates", "listener", "db")
	got := out.String()
	if !strings.Contains(got, "reload failed") {
		t.Fatalf("error line not written through at once; stderr has %q", got)
	}
	if !strings.Contains(got, `"peer":"first"`) {
		t.Fatalf("connection line logged before the error is missing or after it: %q", got)
	}
	log.Info(tunnel.ConnectionLogMessage, "peer", "last")
	if err := buf.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"peer":"last"`) {
		t.Fatalf("Close lost a batched connection line: %q", out.String())
	}
}
