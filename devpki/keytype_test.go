package devpki

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKeyTypeTrimmedCaseInsensitive(t *testing.T) {
	for in, want := range map[string]KeyType{
		"":             ECDSAP256,
		" ECDSA-P256 ": ECDSAP256,
		"RSA":          RSA2048,
		"Ed25519":      Ed25519,
		" ML-DSA-44":   MLDSA44,
		"ml-dsa-65\t":  MLDSA65,
		"ML-DSA-87":    MLDSA87,
		"mldsa65":      MLDSA65,
	} {
		got, err := ParseKeyType(in)
		if err != nil || got != want {
			t.Errorf("ParseKeyType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseKeyType("ml-dsa-99")
	if err == nil || !strings.Contains(err.Error(), "ml-dsa-65") || !strings.Contains(err.Error(), "ecdsa-p256 (default)") {
		t.Errorf("unknown key type: error %v does not list the valid ones", err)
	}
}

func TestPostQuantumKeyTypes(t *testing.T) {
	for _, kt := range keyTypeOrder {
		pq := kt == MLDSA44 || kt == MLDSA65 || kt == MLDSA87
		if !pq && !kt.Supported() {
			t.Errorf("classical key type %s not supported", kt)
		}
		if pq && kt.Supported() != mldsaBuild {
			t.Errorf("%s.Supported() = %v in a build with ML-DSA = %v", kt, kt.Supported(), mldsaBuild)
		}
		_, err := GenerateKey(kt)
		if pq && !mldsaBuild {
			if !errors.Is(err, ErrNeedsGo127) || !strings.Contains(err.Error(), "needs pqtls built with Go 1.27 or later") {
				t.Errorf("GenerateKey(%s) before Go 1.27: %v", kt, err)
			}
		} else if err != nil {
			t.Errorf("GenerateKey(%s): %v", kt, err)
		}
	}
}
