// Package pqgrpc provides gRPC transport credentials that negotiate hybrid
// post-quantum key exchange with a pqtls policy and record every handshake
// through a pqtls.Observer (tls_handshake_* metrics, one log line each).
//
//	creds, err := pqgrpc.NewServerCredentials(pqtls.Options{
//		Policy: pqtls.Policy{Mode: pqtls.ModeRequire},
//		Base:   &tls.Config{Certificates: certs},
//	}, &pqtls.Observer{Metrics: metrics, Logger: logger})
//	srv := grpc.NewServer(grpc.Creds(creds))
//
// The credentials wrap grpc-go's own TLS credentials, so ALPN ("h2"
// enforcement), authority checks and AuthInfo (credentials.TLSInfo) behave
// exactly as with credentials.NewTLS.
package pqgrpc

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pqtls/pqtls"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// NewServerCredentials returns server credentials built with
// pqtls.ServerConfig. obs may be nil; when it is, o.Observer is used. The
// credentials record each handshake themselves (with its duration), so the
// configuration is built without hooks; when o.Base already records
// (pqtls.Instrumented), its hooks count the handshakes and the credentials
// add only the failures the hooks did not see.
func NewServerCredentials(o pqtls.Options, obs *pqtls.Observer) (credentials.TransportCredentials, error) {
	return newCreds(pqtls.ServerConfig, o, obs)
}

// NewClientCredentials returns client credentials built with
// pqtls.ClientConfig. In require mode, a server that accepts no hybrid group
// fails the connection with an error wrapping *pqtls.PolicyError; grpc-go
// turns it into a status, and PolicyErrorOf recovers it from the failed
// RPC's error. obs may be nil; see NewServerCredentials.
func NewClientCredentials(o pqtls.Options, obs *pqtls.Observer) (credentials.TransportCredentials, error) {
	return newCreds(pqtls.ClientConfig, o, obs)
}

// newCreds builds the configuration without hooks (the credentials record
// the handshakes to obs, or to o.Observer when obs is nil).
func newCreds(build func(pqtls.Options) (*tls.Config, error), o pqtls.Options, obs *pqtls.Observer) (credentials.TransportCredentials, error) {
	if obs == nil {
		obs = o.Observer
	}
	o.Observer = nil
	cfg, err := build(o)
	if err != nil {
		return nil, err
	}
	return &creds{inner: credentials.NewTLS(cfg), cfg: cfg, obs: obs}, nil
}

type creds struct {
	inner credentials.TransportCredentials
	cfg   *tls.Config
	obs   *pqtls.Observer
}

func (c *creds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	start := time.Now()
	conn, auth, err := c.inner.ClientHandshake(ctx, authority, raw)
	peer := ""
	if a := raw.RemoteAddr(); a != nil { // nil for some wrapped conns
		peer = a.String()
	}
	err = pqtls.AsPolicyError(c.cfg, peer, err)
	var perr *pqtls.PolicyError
	if !errors.As(err, &perr) {
		perr = nil
	} else if perr.ServerName == "" {
		// grpc-go verifies the authority when Config.ServerName is empty:
		// name that in the error.
		perr.ServerName = authority
		if host, _, serr := net.SplitHostPort(authority); serr == nil {
			perr.ServerName = host
		}
	}
	if perr != nil {
		refusals.keep(authority, perr)
	}
	c.record(pqtls.RoleClient, raw.RemoteAddr(), stateOf(auth), time.Since(start), err)
	return conn, auth, err
}

func (c *creds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	start := time.Now()
	conn, auth, err := c.inner.ServerHandshake(raw)
	c.record(pqtls.RoleServer, raw.RemoteAddr(), stateOf(auth), time.Since(start), err)
	return conn, auth, err
}

// record counts a handshake unless the configuration's own hooks did
// (Observer.Record skips errors they recorded).
func (c *creds) record(role pqtls.Role, peer net.Addr, cs tls.ConnectionState, d time.Duration, err error) {
	if err != nil || !pqtls.Instrumented(c.cfg) {
		c.obs.Record(role, peer, cs, d, err)
	}
}

// refusals keeps the last *pqtls.PolicyError per authority (at most
// maxRefusals authorities), so that PolicyErrorOf can recover it from the
// status error grpc-go returns for the failed RPC, which keeps only its text.
var refusals = &refusalCache{byAuthority: map[string]*pqtls.PolicyError{}}

const maxRefusals = 1024

type refusalCache struct {
	mu          sync.Mutex
	byAuthority map[string]*pqtls.PolicyError
	order       []string
}

func (r *refusalCache) keep(authority string, perr *pqtls.PolicyError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byAuthority[authority]; !ok {
		r.order = append(r.order, authority)
		if len(r.order) > maxRefusals {
			delete(r.byAuthority, r.order[0])
			r.order = r.order[1:]
		}
	}
	r.byAuthority[authority] = perr
}

// PolicyErrorOf recovers the *pqtls.PolicyError behind a failed RPC: a
// require-mode client refused by a classical-only server (or one sharing no
// hybrid group). grpc-go reports the handshake failure as a status error
// carrying only its text; the credentials keep the last PolicyError per
// authority, and PolicyErrorOf returns the one whose text the error
// carries. An error that wraps a PolicyError directly works too.
func PolicyErrorOf(err error) (*pqtls.PolicyError, bool) {
	if err == nil {
		return nil, false
	}
	var perr *pqtls.PolicyError
	if errors.As(err, &perr) {
		return perr, true
	}
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	refusals.mu.Lock()
	defer refusals.mu.Unlock()
	for _, p := range refusals.byAuthority {
		if strings.Contains(msg, p.Error()) {
			return p, true
		}
	}
	return nil, false
}

func stateOf(auth credentials.AuthInfo) tls.ConnectionState {
	if info, ok := auth.(credentials.TLSInfo); ok {
		return info.State
	}
	return tls.ConnectionState{}
}

func (c *creds) Info() credentials.ProtocolInfo { return c.inner.Info() }

func (c *creds) Clone() credentials.TransportCredentials {
	return &creds{inner: c.inner.Clone(), cfg: c.cfg, obs: c.obs}
}

// OverrideServerName is deprecated in grpc-go; it is passed through.
func (c *creds) OverrideServerName(name string) error {
	return c.inner.OverrideServerName(name) //nolint:staticcheck // required by the interface
}
