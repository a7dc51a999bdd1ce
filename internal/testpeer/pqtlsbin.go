package testpeer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PQTLSBinary builds cmd/pqtls (the real CLI) into a temp folder that every
// uid can traverse, so tests can run it as a separate process, also as
// another user. The go command must be on PATH; the build cache makes
// builds after the first one a link step.
func PQTLSBinary(tb testing.TB) string {
	tb.Helper()
	dir := shortTempDir(tb, "pqtls-bin-")
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	bin := filepath.Join(dir, "pqtls")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := runCtx(ctx, nil, nil, "go", "build", "-o", bin, "github.com/pqtls/pqtls/cmd/pqtls"); err != nil {
		tb.Fatalf("testpeer: go build ./cmd/pqtls: %v\n%s", err, out)
	}
	return bin
}
