package pqtls

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricsNamesAndLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	// A second Metrics on the same registry shares the collectors.
	m2, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("second NewMetrics on one registry: %v", err)
	}
	m.ObserveHandshake(RoleServer, tls.ConnectionState{CurveID: tls.X25519MLKEM768, HelloRetryRequest: true}, 3*time.Millisecond)
	m2.ObserveGroup(RoleClient, 0x4242, false, time.Millisecond)
	m.ObserveError(RoleServer, io.EOF)
	var nilM *Metrics
	nilM.ObserveHandshake(RoleServer, tls.ConnectionState{}, time.Second) // must not panic

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, mf := range mfs {
		for _, mm := range mf.GetMetric() {
			s := ""
			for _, lp := range mm.GetLabel() {
				s += lp.GetName() + "=" + lp.GetValue() + " "
			}
			got[mf.GetName()] = append(got[mf.GetName()], s)
		}
	}
	want := map[string][]string{
		MetricGroupTotal:      {"group=unknown kind=unknown role=client ", "group=x25519_mlkem768 kind=hybrid role=server "},
		MetricDuration:        {"group=unknown role=client ", "group=x25519_mlkem768 role=server "},
		MetricErrorsTotal:     {"reason=eof role=server "},
		MetricHelloRetryTotal: {"group=x25519_mlkem768 role=server "},
	}
	for name, labels := range want {
		g := got[name]
		slices.Sort(g)
		if !slices.Equal(g, labels) {
			t.Errorf("%s: labels %q, want %q", name, g, labels)
		}
	}
	if len(got) != len(want) {
		t.Errorf("metric families %v, want exactly %d", got, len(want))
	}
}

func TestErrorReason(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{io.EOF, ReasonEOF},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), ReasonEOF},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, ReasonReset},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, ReasonTimeout},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}, "alert_handshake_failure"},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: unknown certificate authority")}, "alert_unknown_ca"},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: protocol version not supported")}, "alert_protocol_version"},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, ReasonNotTLS},
		{&PolicyError{Role: RoleServer}, ReasonPolicyClassicalPeer},
		{errors.New("tls: client offered only unsupported versions: [303]"), ReasonProtocolVersion},
		{errors.New("tls: no ECDHE curve supported by both client and server"), ReasonNoSharedGroup},
		{errors.New("something odd"), ReasonOther},
	}
	for _, tc := range cases {
		if got := ErrorReason(tc.err); got != tc.want {
			t.Errorf("ErrorReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if !slices.Contains(AlertReasons, "alert_handshake_failure") || len(AlertReasons) != len(alertNames) {
		t.Errorf("AlertReasons = %v", AlertReasons)
	}
}
