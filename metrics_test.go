package pqtls

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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
	m.ObserveHandshake(RoleServer, tls.ConnectionState{CurveID: tls.X25519MLKEM768, HelloRetryRequest: true, Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}, 3*time.Millisecond)
	m2.ObserveGroup(RoleClient, 0x4242, false, time.Millisecond)
	// Hook path: its duration is kept apart; unknown version and suite are
	// bounded to "other".
	m.ObserveHookHandshake(RoleServer, tls.ConnectionState{CurveID: tls.X25519, Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, 2*time.Millisecond)
	m.ObserveHookHandshake(RoleClient, tls.ConnectionState{CurveID: tls.X25519, Version: 0x7f1c, CipherSuite: 0x4242}, 0)
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
		MetricGroupTotal:      {"group=unknown kind=unknown role=client ", "group=x25519 kind=classical role=client ", "group=x25519 kind=classical role=server ", "group=x25519_mlkem768 kind=hybrid role=server "},
		MetricCipherTotal:     {"cipher=TLS_AES_128_GCM_SHA256 role=server version=TLS 1.3 ", "cipher=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 role=server version=TLS 1.2 ", "cipher=other role=client version=other "},
		MetricHookDuration:    {"group=x25519 role=server "},
		MetricDuration:        {"group=unknown role=client ", "group=x25519_mlkem768 role=server "},
		MetricErrorsTotal:     {"reason=eof role=server "},
		MetricHelloRetryTotal: {"group=x25519_mlkem768 role=server "},
	}
	if !mldsaSupported {
		// Go < 1.27 serves classical certificates only; Go 1.27 reads the
		// kind from LocalCertificate, which these synthetic states lack.
		want[MetricAuthTotal] = []string{"kind=classical role=server "}
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

type chattyReason struct{ s string }

func (e chattyReason) Error() string  { return e.s }
func (e chattyReason) Reason() string { return e.s }

// The reason label must stay bounded whatever an error or a caller says:
// unknown reasons become "other", known ones pass through.
func TestReasonLabelStaysBounded(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		m.ObserveReason(RoleServer, fmt.Sprintf("dial 10.0.0.%d: connection refused", i))
		m.ObserveError(RoleServer, chattyReason{fmt.Sprintf("peer %d said no", i)})
	}
	m.ObserveReason(RoleObserved, ReasonMissingSegments)
	m.ObserveError(RoleServer, chattyReason{ReasonACLDenied})
	if n := testutil.CollectAndCount(m.errors); n != 3 {
		t.Fatalf("errors series = %d, want 3 (server/other, observed/missing_segments, server/acl_denied)", n)
	}
	if got := counter(t, m.errors, "server", ReasonOther); got != 100 {
		t.Fatalf("server/other = %v, want 100", got)
	}
	if got := ErrorReason(chattyReason{"free text"}); got != ReasonOther {
		t.Fatalf("ErrorReason of an unknown Reasoner value = %q, want other", got)
	}
	for _, r := range append([]string{ReasonTimeout, ReasonPolicyClassicalPeer, ReasonACLDenied}, AlertReasons...) {
		if !KnownReason(r) {
			t.Errorf("KnownReason(%q) = false", r)
		}
	}
}

// A registry that already has a different metric under one of our names
// gives an error that says what to do; a second NewMetrics shares collectors.
func TestNewMetricsConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: MetricErrorsTotal, Help: "someone else's"}))
	if _, err := NewMetrics(reg); err == nil || !strings.Contains(err.Error(), "separate prometheus.Registry") {
		t.Fatalf("NewMetrics on a conflicting registry = %v", err)
	}
	reg = prometheus.NewRegistry()
	a, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	a.ObserveReason(RoleServer, ReasonEOF)
	b.ObserveReason(RoleServer, ReasonEOF)
	if got := counter(t, a.errors, "server", ReasonEOF); got != 2 {
		t.Fatalf("shared collectors counted %v, want 2", got)
	}
}
