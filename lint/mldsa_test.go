package lint

import (
	"go/version"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMLDSAGoLineClaim checks PQ464's premise with the real go command: the
// module it reports (go 1.26, crypto/mldsa without a build constraint) does
// not build with a Go 1.26 toolchain, and under Go 1.27 go vet says the go
// line is too old; the near miss (ML-DSA behind //go:build go1.27 with a
// fallback file) passes go vet with either toolchain.
func TestMLDSAGoLineClaim(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	run := func(dir string, args ...string) (string, error) {
		cmd := exec.Command(goBin, args...)
		cmd.Dir = filepath.Join(rulesDir, dir)
		cmd.Env = append(cmd.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	v, err := run("gomod/mldsa", "env", "GOVERSION")
	if err != nil {
		t.Fatalf("go env GOVERSION: %v\n%s", err, v)
	}
	v = strings.TrimSpace(v)
	t.Logf("go command: %s", v)
	if res := lintPath(t, "gomod/mldsa/go.mod", Options{}); !sameWants(got(res), []want{{"PQ464", 3}}) {
		t.Fatalf("gomod/mldsa: findings %v, want PQ464@3", got(res))
	}
	out, err := run("gomod/mldsa", "vet", ".")
	switch {
	case version.Compare(version.Lang(v), "go1.27") < 0:
		if err == nil || !strings.Contains(out, "crypto/mldsa") {
			t.Errorf("%s: go vet of the reported module: err %v, want a missing crypto/mldsa\n%s", v, err, out)
		}
	default:
		if err == nil || !strings.Contains(out, "requires go1.27 or later") {
			t.Errorf("%s: go vet of the reported module: err %v, want \"requires go1.27 or later\"\n%s", v, err, out)
		}
	}
	if out, err := run("gomod/mldsa-tagged", "vet", "."); err != nil {
		t.Errorf("%s: go vet of the guarded module: %v\n%s", v, err, out)
	}
}
