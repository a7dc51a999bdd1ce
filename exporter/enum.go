package exporter

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/starttls"
	"github.com/pqtls/pqtls/internal/wire"
	"github.com/pqtls/pqtls/scan"
)

// enumerate asks scan.ScanOne (the engine of 'pqtls scan', crafted
// ClientHellos from internal/wire) which groups the server accepts: the
// TLS 1.3 groups it selects, plus the TLS 1.2 ECDHE curves of a TLS
// 1.2-only server. The large ClientHello case runs at the same time on its
// own connection.
func enumerate(ctx context.Context, addr string, dial pinnedDialer, serverName string, m *Module, logger *slog.Logger) (map[tls.CurveID]bool, bool, error) {
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

	supported := make(map[tls.CurveID]bool, len(m.enumGroup))
	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	// IP set: ScanOne does not resolve the name again.
	target := scan.Target{Input: addr, Source: "exporter", Host: host, IP: dial.addrs[0].String(), Port: port, ServerName: sniName(serverName), StartTLS: starttls.None}
	opts := scan.Options{
		Enumerate:  true,
		Groups:     m.enumGroup,
		ServerName: sniName(serverName),
		RootCAs:    m.roots,
		ClientCert: m.cert,
		ALPN:       m.proto.ALPN(),
		StartTLS:   m.proto,
		Retries:    -1, // Prometheus' next scrape is the retry
		// Every connection goes to the addresses checked against
		// allowed_targets, never to a second resolution.
		DialContext: dial.DialContext,
		Logger:      logger,
	}
	if dl, ok := ctx.Deadline(); ok {
		opts.Timeout = time.Until(dl)
	}
	res, err := scan.ScanOne(ctx, target, opts)
	if err == nil && res.Error != "" {
		// res.Error may quote a server's STARTTLS banner: the reason is
		// enough here (debug output is redacted).
		err = fmt.Errorf("enumeration: %s (%s)", res.Verdict, res.Reason)
	}
	for _, g := range res.Groups {
		if g.Confirmed == nil || *g.Confirmed {
			supported[tls.CurveID(g.ID)] = true
		}
	}
	for _, name := range res.TLS12Curves {
		if g, perr := pqtls.ParseGroup(name); perr == nil {
			supported[g.ID] = true
		}
	}
	if len(res.ProbeErrors) > 0 {
		// Their text may quote what the server sent: count them only.
		logger.Warn("enumeration probes with unknown answers", "count", len(res.ProbeErrors))
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
	return supported, large.ok, err
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
