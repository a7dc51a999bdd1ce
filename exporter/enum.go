package exporter

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/wire"
)

// enumParallel bounds the connections one enumeration opens at once.
const enumParallel = 4

// enumerate asks the server, one crafted TLS 1.3 ClientHello per group, which
// groups it accepts, then runs the large ClientHello case. A group is
// supported when the server answers with a ServerHello or a
// HelloRetryRequest selecting it. Network failures other than a refusal
// (timeout, reset before any answer) leave the group unsupported and are
// logged.
func enumerate(ctx context.Context, addr, serverName string, m *Module, logger *slog.Logger) (map[tls.CurveID]bool, bool, error) {
	supported := make(map[tls.CurveID]bool, len(m.enumGroup))
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, enumParallel)
	var wg sync.WaitGroup
	for _, id := range m.enumGroup {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ok, outcome, err := tryGroup(ctx, addr, serverName, m, id)
			mu.Lock()
			defer mu.Unlock()
			supported[id] = ok
			if err != nil && firstErr == nil {
				firstErr = err
			}
			level := slog.LevelDebug
			if err != nil {
				level = slog.LevelWarn
			}
			logger.Log(ctx, level, "enumerate", "group", pqtls.GroupName(id), "supported", ok, "outcome", outcome, "err", err)
		}()
	}
	large, outcome, err := largeHello(ctx, addr, serverName, m)
	wg.Wait()
	if err != nil && firstErr == nil {
		firstErr = err
	}
	var names []string
	for _, id := range m.enumGroup {
		if supported[id] {
			names = append(names, pqtls.GroupName(id))
		}
	}
	logger.Info("enumeration", "supported", names, "large_client_hello_ok", large, "large_client_hello_outcome", outcome)
	return supported, large, firstErr
}

// tryGroup offers only group id. A real key share is sent when wire can make
// one, else an empty key_share so a supporting server must answer with a
// HelloRetryRequest.
func tryGroup(ctx context.Context, addr, serverName string, m *Module, id tls.CurveID) (bool, wire.Outcome, error) {
	ch := wire.NewClientHello13(sniName(serverName))
	ch.SupportedGroups = []tls.CurveID{id}
	if wire.RealKeyShare(id) {
		ks, err := wire.GenerateKeyShare(id)
		if err != nil {
			return false, wire.OutcomeError, err
		}
		ch.KeyShares = []wire.KeyShare{ks}
	}
	res, err := exchange(ctx, addr, serverName, m, ch, wire.ExchangeOptions{})
	if err != nil {
		return false, wire.OutcomeError, err
	}
	switch res.Outcome {
	case wire.OutcomeServerHello, wire.OutcomeHelloRetryRequest:
		sh := res.ServerHello
		if sh.Version() != wire.VersionTLS13 {
			return false, res.Outcome, nil
		}
		if sh.IsHRR {
			return sh.SelectedGroup == id, res.Outcome, nil
		}
		return sh.KeyShare.Group == id, res.Outcome, nil
	case wire.OutcomeAlert, wire.OutcomeEOF, wire.OutcomeReset:
		return false, res.Outcome, nil
	}
	return false, res.Outcome, fmt.Errorf("group %s: %s: %w", pqtls.GroupName(id), res.Outcome, res.Err)
}

// largeHello is the canary case: a ClientHello offering X25519MLKEM768 and
// X25519 with real key shares for both (about 1.5 KB), split into two TCP
// segments. It passes when the server answers with a ServerHello or a
// HelloRetryRequest, whatever group it picks.
func largeHello(ctx context.Context, addr, serverName string, m *Module) (bool, wire.Outcome, error) {
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
	res, err := exchange(ctx, addr, serverName, m, ch, wire.ExchangeOptions{Segments: []int{len(raw) / 2}})
	if err != nil {
		return false, wire.OutcomeError, err
	}
	switch res.Outcome {
	case wire.OutcomeServerHello, wire.OutcomeHelloRetryRequest:
		return true, res.Outcome, nil
	}
	return false, res.Outcome, nil
}

func exchange(ctx context.Context, addr, serverName string, m *Module, ch *wire.ClientHello, opts wire.ExchangeOptions) (*wire.ExchangeResult, error) {
	conn, _, err := connect(ctx, addr, serverName, m)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if proto := alpnFor(m); len(proto) > 0 {
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
