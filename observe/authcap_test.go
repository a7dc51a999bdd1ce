package observe

import (
	"slices"
	"testing"
)

// testdata/interop.pcap was recorded from real clients (TestInteropCapture:
// Node 26 with OpenSSL 3.5, Chromium): both offer mldsa44/65/87 in
// signature_algorithms, so every TLS 1.3 flow is ml-dsa capable, and Node
// limited to TLS 1.2 is flagged tls12_only.
func TestRecordedCaptureAuthCapability(t *testing.T) {
	flows, _ := analyzeFile(t, "testdata/interop.pcap")
	caps := map[string]int{}
	for _, f := range flows {
		caps[f.AuthCapability]++
		mldsa := slices.Contains(f.OfferedSignatureAlgorithms, "mldsa44") && slices.Contains(f.OfferedSignatureAlgorithms, "mldsa65") && slices.Contains(f.OfferedSignatureAlgorithms, "mldsa87")
		switch {
		case f.SNI == "tls12.test":
			if f.AuthCapability != AuthCapTLS12Only || mldsa {
				t.Errorf("TLS 1.2-only Node client: %q, sigalgs %v", f.AuthCapability, f.OfferedSignatureAlgorithms)
			}
		case f.AuthCapability != AuthCapMLDSA || !mldsa:
			t.Errorf("flow %s (%s): %q, sigalgs %v", f.Client, f.SNI, f.AuthCapability, f.OfferedSignatureAlgorithms)
		}
	}
	if caps[AuthCapMLDSA] != 6 || caps[AuthCapTLS12Only] != 1 {
		t.Errorf("capabilities %v, want 6 ml-dsa and 1 tls12_only", caps)
	}
}
