package exporter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/starttls"
	"github.com/pqtls/pqtls/internal/wire"
)

// EnumRequest is one group enumeration of a probe: which server, which
// groups, and how to connect (only to the addresses allowed_targets
// checked).
type EnumRequest struct {
	// Host is the target's host as given (logs); IP the checked address
	// dialled first; Port the TCP port.
	Host string
	IP   netip.Addr
	Port int
	// ServerName is the SNI ("" for an IP address) and the name verified.
	ServerName string
	// Groups are the groups to enumerate.
	Groups []tls.CurveID
	// StartTLS is the module's preamble ("" = none); ALPN what it needs.
	StartTLS starttls.Protocol
	ALPN     []string
	// RootCAs and ClientCert are the module's (nil: system roots, none).
	RootCAs    *x509.CertPool
	ClientCert *tls.Certificate
	// Timeout bounds each network step; the context bounds the whole.
	Timeout time.Duration
	// DialContext connects to the checked addresses whatever address it is
	// given: use it for every connection.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger receives the enumeration's log (the probe's, redacted).
	Logger *slog.Logger
}

// EnumResult is what an enumeration found.
type EnumResult struct {
	// Supported are the groups the server accepts: TLS 1.3 groups it
	// selects and, for a TLS 1.2 server, the ECDHE curves it accepts.
	Supported []tls.CurveID
	// TLS12Curves names the accepted TLS 1.2 curves (logs).
	TLS12Curves []string
	// Connections counts the connections made; ProbeErrors the probes with
	// an unexpected answer.
	Connections, ProbeErrors int
	// PQAuth is the ML-DSA authentication and CNSA 2.0 finding.
	PQAuth PQAuth
}

// Enumerator enumerates the groups a server accepts, for modules with
// enumerate: true. It returns an error when the enumeration did not reach
// the server. 'pqtls exporter' wires scan's engine (crafted ClientHellos
// from internal/wire): the exporter, a tool package, does not import
// another tool (docs/ARCHITECTURE.md).
type Enumerator func(ctx context.Context, r EnumRequest) (EnumResult, error)

// enumerate runs the Enumerator and, at the same time on its own
// connection, the large ClientHello case.
func enumerate(ctx context.Context, en Enumerator, addr string, dial pinnedDialer, serverName string, m *Module, logger *slog.Logger) (map[tls.CurveID]bool, bool, PQAuth, error) {
	type largeResult struct {
		ok      bool
		outcome wire.Outcome
		err     error
	}
	lc := make(chan largeResult, 1)
	go func() {
		ok, outcome, err := largeHello(ctx, dial, serverName, m)
		lc <- largeResult{ok, outcome, err}
	}()

	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	req := EnumRequest{
		Host: host, IP: dial.addrs[0], Port: port, ServerName: sniName(serverName),
		Groups: m.enumGroup, StartTLS: m.proto, ALPN: m.proto.ALPN(), RootCAs: m.roots, ClientCert: m.cert,
		DialContext: dial.DialContext, Logger: logger,
	}
	if dl, ok := ctx.Deadline(); ok {
		req.Timeout = time.Until(dl)
	}
	var res EnumResult
	err := errors.New("no enumerator configured (exporter.Options.Enumerator)")
	if en != nil {
		res, err = en(ctx, req)
	}
	supported := make(map[tls.CurveID]bool, len(m.enumGroup))
	for _, id := range res.Supported {
		supported[id] = true
	}
	if res.ProbeErrors > 0 {
		logger.Warn("enumeration probes with unknown answers", "count", res.ProbeErrors)
	}
	large := <-lc
	if large.err != nil && err == nil {
		err = large.err
	}
	var names []string
	for _, id := range m.enumGroup {
		if supported[id] {
			names = append(names, pqtls.GroupName(id))
		}
	}
	logger.Info("enumeration", "supported", names, "tls12_curves", res.TLS12Curves, "connections", res.Connections,
		"large_client_hello_ok", large.ok, "large_client_hello_outcome", large.outcome, "err", err)
	return supported, large.ok, res.PQAuth, err
}

// largeHello is the canary case: a ClientHello offering X25519MLKEM768 and
// X25519 with real key shares for both (about 1.5 KB), split into two TCP
// segments. It passes when the server answers with a ServerHello or a
// HelloRetryRequest, whatever group it picks.
func largeHello(ctx context.Context, dial pinnedDialer, serverName string, m *Module) (bool, wire.Outcome, error) {
	ch := wire.NewClientHello13(sniName(serverName))
	ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}
	ks, err := wire.GenerateKeyShares(tls.X25519MLKEM768, tls.X25519)
	if err != nil {
		return false, wire.OutcomeError, err
	}
	ch.KeyShares = ks
	raw, err := ch.MarshalRecords()
	if err != nil {
		return false, wire.OutcomeError, err
	}
	res, err := exchange(ctx, dial, serverName, m, ch, wire.ExchangeOptions{Segments: []int{len(raw) / 2}})
	if err != nil {
		return false, wire.OutcomeError, err
	}
	switch res.Outcome {
	case wire.OutcomeServerHello, wire.OutcomeHelloRetryRequest:
		return true, res.Outcome, nil
	}
	return false, res.Outcome, nil
}

func exchange(ctx context.Context, dial pinnedDialer, serverName string, m *Module, ch *wire.ClientHello, opts wire.ExchangeOptions) (*wire.ExchangeResult, error) {
	conn, _, err := connect(ctx, dial, serverName, m)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if proto := m.proto.ALPN(); len(proto) > 0 {
		ch.ALPN = proto
	}
	return wire.Exchange(ctx, conn, ch, opts)
}

// sniName returns the server_name to send: none for an IP address (RFC 6066
// section 3).
func sniName(serverName string) string {
	if net.ParseIP(serverName) != nil {
		return ""
	}
	return serverName
}
