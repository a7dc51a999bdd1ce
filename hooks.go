package pqtls

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// This file holds the tls.Config hooks that ServerConfig and ClientConfig
// install: policy enforcement at ClientHello time, per-connection ALPN, and,
// with Options.Observer, recording of the handshakes that run wherever the
// configuration is used (http.Server.ServeTLS, tls.Listen, drivers...).

// ownedKey marks the context of a handshake run by pqtls code that records
// the handshake itself (Observer.Handshake: Listener, demo, tools). The
// server hooks see it through ClientHelloInfo.Context and record nothing,
// so a handshake is never counted twice.
type ownedKey struct{}

func ownedContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, ownedKey{}, true)
}

func isOwned(ctx context.Context) bool {
	if ctx == nil {
		return false
	}
	owned, _ := ctx.Value(ownedKey{}).(bool)
	return owned
}

// serverHooks is the state behind a server configuration's hooks.
type serverHooks struct {
	policy        Policy
	require       bool
	groups        []tls.CurveID // the policy's groups (what is accepted)
	autoALPN      bool          // Base.NextProtos was nil
	baseGetConfig func(*tls.ClientHelloInfo) (*tls.Config, error)
	baseVerify    func(tls.ConnectionState) error
	obs           *Observer // nil: record nothing
	cfg           *tls.Config
}

// getConfigForClient is installed when the configuration has no Observer;
// getConfigObserved when it has one. Two methods so that Instrumented can
// tell them apart from the function value alone (Clone keeps it).
func (s *serverHooks) getConfigForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	return s.perConnection(hello, nil)
}

func (s *serverHooks) getConfigObserved(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	obs := s.obs
	if isOwned(hello.Context()) {
		obs = nil // the owner (Listener...) records this handshake
	}
	return s.perConnection(hello, obs)
}

// verifyConnection is the configuration-level VerifyConnection: it runs
// when no per-connection configuration was returned (no certificate source
// in this configuration, see perConnection), so it records without
// duration and without the peer's address.
func (s *serverHooks) verifyConnection(cs tls.ConnectionState) error {
	return s.verify(cs, "", time.Time{}, s.baseVerify, nil)
}

func (s *serverHooks) verifyObserved(cs tls.ConnectionState) error {
	return s.verify(cs, "", time.Time{}, s.baseVerify, s.obs)
}

func (s *serverHooks) perConnection(hello *tls.ClientHelloInfo, obs *Observer) (*tls.Config, error) {
	start := time.Now()
	peer := helloPeer(hello)
	if err := s.refuse(hello, peer); err != nil {
		return nil, obs.recordHookError(RoleServer, peer, err)
	}
	var c *tls.Config
	verify := s.baseVerify
	if s.baseGetConfig != nil {
		bc, err := s.baseGetConfig(hello)
		if err != nil {
			return nil, obs.recordHookError(RoleServer, peer, err)
		}
		if bc != nil {
			c = bc.Clone()
			applyPolicy(c, s.policy)
			verify = c.VerifyConnection
		}
	}
	alpn := s.autoALPN && (c == nil || c.NextProtos == nil)
	if c == nil {
		if !hasCertificateSource(s.cfg) {
			// http.Server.ServeTLS(ln, certFile, keyFile) loads the
			// certificates into its own copy of this configuration: a
			// per-connection copy of ours would lose them. crypto/tls keeps
			// using the caller's copy; its VerifyConnection records.
			return nil, nil
		}
		if obs == nil && !s.require && !alpn {
			return nil, nil
		}
		c = s.cfg.Clone()
		c.GetConfigForClient = nil
	}
	if alpn {
		c.NextProtos = httpProtos(hello.SupportedProtos)
	}
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		return s.verify(cs, peer, start, verify, obs)
	}
	return c, nil
}

// verify enforces require, runs the caller's own VerifyConnection, then
// records the handshake (when obs is set).
func (s *serverHooks) verify(cs tls.ConnectionState, peer string, start time.Time, next func(tls.ConnectionState) error, obs *Observer) error {
	if s.require && !IsHybrid(cs.CurveID) {
		err := &PolicyError{Role: RoleServer, Peer: peer, ServerName: cs.ServerName, Offered: []tls.CurveID{cs.CurveID}, Required: slices.Clone(s.groups)}
		return obs.recordHookError(RoleServer, peer, err)
	}
	if next != nil {
		if err := next(cs); err != nil {
			return obs.recordHookError(RoleServer, peer, err)
		}
	}
	var d time.Duration
	if !start.IsZero() {
		d = time.Since(start)
	}
	obs.recordHook(RoleServer, peer, cs, d)
	return nil
}

// refuse makes the decisions pqtls takes itself at ClientHello time: policy
// require against a classical-only client, an auth mode (require-pq, cnsa2)
// against a client that lacks what it needs, no shared group, no shared
// version. It sends the alert RFC 8446 section 4.1.1 asks for (crypto/tls
// would send internal_error for an error from GetConfigForClient).
func (s *serverHooks) refuse(hello *tls.ClientHelloInfo, peer string) error {
	if !slices.ContainsFunc(hello.SupportedVersions, func(v uint16) bool {
		return v >= s.cfg.MinVersion && v <= s.cfg.MaxVersion
	}) && len(hello.SupportedVersions) > 0 {
		writeAlert(hello.Conn, alertProtocolVersion)
		return &RefusalError{Code: ReasonProtocolVersion, Role: RoleServer, Peer: peer, ServerName: hello.ServerName,
			Msg: fmt.Sprintf("client offered %s, this server accepts %s to %s", versionNames(hello.SupportedVersions), VersionName(s.cfg.MinVersion), VersionName(s.cfg.MaxVersion))}
	}
	if mode, _ := ParseAuth(string(s.policy.Auth)); mode != AuthAny {
		if lacks, got := authLacks(mode, hello); lacks != "" {
			writeAlert(hello.Conn, alertHandshakeFailure)
			return &AuthPolicyError{Role: RoleServer, Mode: mode, Peer: peer, ServerName: hello.ServerName, Lacks: lacks, Got: got}
		}
	}
	if s.require && !slices.ContainsFunc(hello.SupportedCurves, IsHybrid) {
		// A client that offers hybrids, just not ours, is not classical:
		// it is refused below as no_shared_group.
		writeAlert(hello.Conn, alertHandshakeFailure)
		return &PolicyError{Role: RoleServer, Peer: peer, ServerName: hello.ServerName, Offered: slices.Clone(hello.SupportedCurves), Required: slices.Clone(s.groups)}
	}
	if len(hello.SupportedCurves) > 0 && !slices.ContainsFunc(hello.SupportedCurves, func(id tls.CurveID) bool { return slices.Contains(s.groups, id) }) && s.ecdheOnly(hello) {
		writeAlert(hello.Conn, alertHandshakeFailure)
		return &RefusalError{Code: ReasonNoSharedGroup, Role: RoleServer, Peer: peer, ServerName: hello.ServerName,
			Msg: fmt.Sprintf("client offered %s, this server accepts %s", groupNames2(hello.SupportedCurves), groupNames2(s.groups))}
	}
	return nil
}

// ecdheOnly reports whether every handshake this client could complete
// needs a shared group: TLS 1.3, or TLS 1.2 with only ECDHE suites enabled
// on this server (Go's default since 1.22).
func (s *serverHooks) ecdheOnly(hello *tls.ClientHelloInfo) bool {
	if slices.Contains(hello.SupportedVersions, tls.VersionTLS13) && s.cfg.MaxVersion >= tls.VersionTLS13 {
		return true
	}
	for _, id := range s.cfg.CipherSuites {
		if !strings.Contains(tls.CipherSuiteName(id), "ECDHE") {
			return false
		}
	}
	return true
}

func hasCertificateSource(c *tls.Config) bool {
	return len(c.Certificates) > 0 || c.GetCertificate != nil
}

func helloPeer(hello *tls.ClientHelloInfo) string {
	if hello.Conn == nil {
		return ""
	}
	if a := hello.Conn.RemoteAddr(); a != nil { // nil for some wrapped conns
		return a.String()
	}
	return ""
}

// httpProtos answers a client's ALPN list with h2 and http/1.1 only when it
// offers one of them: a client offering other protocols (libpq 17 sends
// "postgresql") gets no ALPN and is never refused for it.
func httpProtos(offered []string) []string {
	var out []string
	for _, p := range []string{"h2", "http/1.1"} {
		if slices.Contains(offered, p) {
			out = append(out, p)
		}
	}
	if out == nil {
		return []string{} // non-nil: no ALPN on this connection
	}
	return out
}

func versionNames(vs []uint16) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = VersionName(v)
	}
	return strings.Join(names, ", ")
}

// clientHooks is the state behind a client configuration's hooks.
type clientHooks struct {
	require bool
	groups  []tls.CurveID
	next    func(tls.ConnectionState) error
	obs     *Observer
}

func (c *clientHooks) verifyConnection(cs tls.ConnectionState) error { return c.verify(cs, nil) }

func (c *clientHooks) verifyObserved(cs tls.ConnectionState) error { return c.verify(cs, c.obs) }

func (c *clientHooks) verify(cs tls.ConnectionState, obs *Observer) error {
	if c.require && !IsHybrid(cs.CurveID) {
		return obs.recordHookError(RoleClient, "", &PolicyError{Role: RoleClient, ServerName: cs.ServerName, Offered: []tls.CurveID{cs.CurveID}, Required: slices.Clone(c.groups)})
	}
	if c.next != nil {
		if err := c.next(cs); err != nil {
			return obs.recordHookError(RoleClient, "", err)
		}
	}
	obs.recordHook(RoleClient, "", cs, 0)
	return nil
}

var (
	serverObservedPC = reflect.ValueOf((&serverHooks{}).getConfigObserved).Pointer()
	clientObservedPC = reflect.ValueOf((&clientHooks{}).verifyObserved).Pointer()
)

// Instrumented reports whether cfg records its own handshakes: it comes from
// ServerConfig or ClientConfig with an Options.Observer (or is a Clone of
// one). Code that runs handshakes on a configuration and records them (as
// pqgrpc does) records a completed handshake only when this is false, and a
// failed one only when RecordedByHook(err) is false, so nothing is counted
// twice.
func Instrumented(cfg *tls.Config) bool {
	if cfg == nil {
		return false
	}
	if cfg.GetConfigForClient != nil && reflect.ValueOf(cfg.GetConfigForClient).Pointer() == serverObservedPC {
		return true
	}
	return cfg.VerifyConnection != nil && reflect.ValueOf(cfg.VerifyConnection).Pointer() == clientObservedPC
}

// recordedError marks an error the hooks already recorded.
type recordedError struct{ err error }

func (e *recordedError) Error() string {
	msg := e.err.Error()
	if strings.HasPrefix(msg, "pqtls: ") {
		return msg
	}
	return "pqtls: " + msg
}
func (e *recordedError) Unwrap() error { return e.err }

// RecordedByHook reports whether a handshake error was already recorded by
// an instrumented configuration's hooks (see Instrumented). Observer.Record
// and Observer.RecordError skip such errors themselves.
func RecordedByHook(err error) bool {
	var r *recordedError
	return errors.As(err, &r)
}

// RefusalError is a handshake pqtls refused itself for a reason other than
// policy require (PolicyError): no shared group or no shared TLS version.
type RefusalError struct {
	// Code is ReasonNoSharedGroup or ReasonProtocolVersion.
	Code       string
	Role       Role
	Peer       string
	ServerName string
	Msg        string
}

func (e *RefusalError) Error() string {
	what := "no shared key-exchange group"
	if e.Code == ReasonProtocolVersion {
		what = "no shared TLS version"
	}
	return fmt.Sprintf("pqtls: refused client %s (SNI %q): %s: %s", e.Peer, e.ServerName, what, e.Msg)
}

// Reason returns the metric reason.
func (e *RefusalError) Reason() string { return e.Code }
