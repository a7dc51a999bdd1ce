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
	"time"

	"github.com/pqtls/pqtls"
	"google.golang.org/grpc/credentials"
)

// NewServerCredentials returns server credentials built with
// pqtls.ServerConfig. obs may be nil.
func NewServerCredentials(o pqtls.Options, obs *pqtls.Observer) (credentials.TransportCredentials, error) {
	cfg, err := pqtls.ServerConfig(o)
	if err != nil {
		return nil, err
	}
	return &creds{inner: credentials.NewTLS(cfg), cfg: cfg, obs: obs}, nil
}

// NewClientCredentials returns client credentials built with
// pqtls.ClientConfig. In require mode, a server that accepts no hybrid group
// fails the connection with an error wrapping *pqtls.PolicyError. obs may be
// nil.
func NewClientCredentials(o pqtls.Options, obs *pqtls.Observer) (credentials.TransportCredentials, error) {
	cfg, err := pqtls.ClientConfig(o)
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
	if errors.As(err, &perr) && perr.ServerName == "" {
		// grpc-go verifies the authority when Config.ServerName is empty:
		// name that in the error.
		perr.ServerName = authority
		if host, _, serr := net.SplitHostPort(authority); serr == nil {
			perr.ServerName = host
		}
	}
	c.obs.Record(pqtls.RoleClient, raw.RemoteAddr(), stateOf(auth), time.Since(start), err)
	return conn, auth, err
}

func (c *creds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	start := time.Now()
	conn, auth, err := c.inner.ServerHandshake(raw)
	c.obs.Record(pqtls.RoleServer, raw.RemoteAddr(), stateOf(auth), time.Since(start), err)
	return conn, auth, err
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
