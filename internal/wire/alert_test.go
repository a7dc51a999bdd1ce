package wire

import (
	"errors"
	"testing"
)

func TestParseAlert(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
		err  bool
	}{
		{[]byte{2, 40}, "fatal handshake_failure (40)", false},
		{[]byte{2, 70}, "fatal protocol_version (70)", false},
		{[]byte{1, 0}, "warning close_notify (0)", false},
		{[]byte{2, 47}, "fatal illegal_parameter (47)", false},
		{[]byte{2, 112}, "fatal unrecognized_name (112)", false},
		{[]byte{2, 109}, "fatal missing_extension (109)", false},
		{[]byte{2, 116}, "fatal certificate_required (116)", false},
		{[]byte{2, 120}, "fatal no_application_protocol (120)", false},
		{[]byte{2, 200}, "fatal unknown_200 (200)", false},
		{[]byte{3, 40}, "", true},
		{[]byte{2}, "", true},
		{[]byte{2, 40, 2, 40}, "", true},
		{nil, "", true},
	} {
		a, err := ParseAlert(tc.in)
		if tc.err {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v: error %v, want ErrMalformed", tc.in, err)
			}
			continue
		}
		if err != nil || a.String() != tc.want {
			t.Errorf("%v: %q %v, want %q", tc.in, a, err, tc.want)
		}
		if string(a.Marshal()) != string(tc.in) {
			t.Errorf("%v: Marshal %v", tc.in, a.Marshal())
		}
	}
	// Every RFC 8446 section 6 alert has a name.
	for _, d := range []AlertDescription{0, 10, 20, 22, 40, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 70, 71, 80, 86, 90, 109, 110, 112, 113, 115, 116, 120} {
		if !d.Known() {
			t.Errorf("alert %d has no name", d)
		}
	}
}
