package pqtls_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The README's library quickstart must compile against the current API: it
// is type-checked here inside a function that supplies the variables it
// assumes (registry, logger, certs, pool, handler) and returns an error; its
// last line yields resp and err. Example in
// example_test.go runs the same flow end to end.
func TestReadmeQuickstartCompiles(t *testing.T) {
	code := readmeGoBlock(t, "## Library quickstart")
	src := `package readmecheck

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"

	"github.com/pqtls/pqtls"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	_ = tls.Config{}
	_ = pqtls.ModePrefer
)

func quickstart(registry prometheus.Registerer, logger *slog.Logger, certs []tls.Certificate, pool *x509.CertPool, handler http.Handler) error {
` + code + `
	_, _ = resp, err
	return nil
}
`
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "quickstart.go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// The overlay places the file in a package of this module without
	// writing into the source tree.
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(root, "internal", "readmecheck", "quickstart.go"): file}})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-overlay", overlayFile, "./internal/readmecheck")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README quickstart does not compile: %v\n%s\n--- wrapped source:\n%s", err, out, src)
	}
}

// readmeGoBlock returns the first ```go block after heading in README.md.
func readmeGoBlock(t *testing.T, heading string) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), heading)
	if !ok {
		t.Fatalf("README.md has no %q section", heading)
	}
	_, code, ok := strings.Cut(after, "```go\n")
	if ok {
		code, _, ok = strings.Cut(code, "```")
	}
	if !ok {
		t.Fatalf("the %q section has no ```go block", heading)
	}
	return code
}
