package testpeer

import "testing"

// TestSpireVersionRE: the version check accepts what a source build of
// SPIRE 1.13.3 prints (no release linker flags) and the release tag, and
// nothing else, so a stale cache is rebuilt rather than used.
func TestSpireVersionRE(t *testing.T) {
	for v, want := range map[string]bool{
		"1.13.3-dev-unk": true, "v1.13.3": true, "1.13.3": true, "1.13.3-dev-3f2a9c1": true,
		"1.13.30": false, "1.13.2-dev-unk": false, "1.13.3-rc1": false, "v1.12.0": false, "": false,
	} {
		if got := spireVersionRE.MatchString(v); got != want {
			t.Errorf("spire-server --version %q accepted = %v, want %v", v, got, want)
		}
	}
}
