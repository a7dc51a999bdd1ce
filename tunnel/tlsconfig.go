package tunnel

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	spiffetls "github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// material is what a reload replaces: the TLS configuration and the
// expiry of the listener's own certificate.
type material struct {
	config   *tls.Config
	notAfter time.Time   // zero: no certificate of our own
	target   *tls.Config // server mode with target_tls: the config towards the target
	// identify is the peer-identity decision of the listener: the handshake
	// refuses on its error (VerifyConnection), and the connection reports
	// the identity it returns for the same state (log, PROXY v2 TLV).
	identify func(tls.ConnectionState) (string, error)
}

// svidSource is where a Workload API listener takes its X.509-SVID and the
// bundles that verify peers: a *workloadapi.X509Source, rotated in place.
type svidSource interface {
	x509svid.Source
	x509bundle.Source
}

// buildMaterial loads certificates and CA bundles from disk (or takes them
// from src, with use_workload_api) and builds the listener's TLS
// configuration through pqtls.ServerConfig/ClientConfig.
func (l *ListenerConfig) buildMaterial(logger *slog.Logger, src svidSource) (*material, []string, error) {
	pol, _, err := l.policy()
	if err != nil {
		return nil, nil, err
	}
	// No ALPN unless the config lists protocols: the tunnel forwards bytes
	// and cannot know what its target speaks (an HTTP/1.1 backend must never
	// receive an HTTP/2 preface). A nil list would let pqtls.ServerConfig
	// answer h2/http/1.1, so "none" is an empty, non-nil list.
	alpn := []string{}
	if len(l.ALPN) > 0 {
		alpn = l.ALPN
	}
	// Full 16 KiB records from the first byte: the tunnel forwards bulk
	// and has no first-paint latency to optimise.
	base := &tls.Config{NextProtos: alpn, DynamicRecordSizingDisabled: true}
	m := &material{}
	var (
		warnings []string
		pool     *x509.CertPool
	)
	if src != nil {
		hookWorkloadAPI(base, l.Mode, src)
	} else {
		if warnings, err = l.loadCert(base, m); err != nil {
			return nil, nil, err
		}
		if pool, err = l.loadCA(); err != nil {
			return nil, nil, err
		}
	}
	opts := pqtls.Options{Policy: pol, Base: base, Logger: logger}
	if l.Mode == ModeServer {
		err = l.serverMaterial(m, opts, pool, src != nil)
	} else {
		err = l.clientMaterial(m, opts, pool, src != nil)
	}
	if err != nil {
		return nil, nil, err
	}
	return m, warnings, nil
}

// hookWorkloadAPI makes base present the current X.509-SVID of src and
// verify the peer's chain against src's bundles (go-spiffe's tlsconfig), so
// a rotation applies to the next handshake without a restart. The identity
// check (allow/verify) stays the tunnel's own, in VerifyConnection.
func hookWorkloadAPI(base *tls.Config, mode Mode, src svidSource) {
	base.VerifyPeerCertificate = spiffetls.VerifyPeerCertificate(src, spiffetls.AuthorizeAny())
	if mode == ModeServer {
		base.ClientAuth = tls.RequireAnyClientCert
		base.GetCertificate = spiffetls.GetCertificate(src)
		return
	}
	base.GetClientCertificate = spiffetls.GetClientCertificate(src)
	base.InsecureSkipVerify = true // the chain is verified by VerifyPeerCertificate
}

// loadCert loads the listener's own certificates and keys into base: Cert
// first, then ExtraCerts (pqtls orders ML-DSA first under auth prefer-pq).
// m.notAfter is the earliest expiry among them.
func (l *ListenerConfig) loadCert(base *tls.Config, m *material) (warnings []string, err error) {
	for _, p := range l.certPairs() {
		cert, err := pqtls.LoadX509KeyPair(p.Cert, p.Key)
		if err != nil {
			var cerr *pqtls.ConfigError
			if errors.As(err, &cerr) {
				return nil, at("cert", err) // e.g. ML-DSA in a Go 1.26 build
			}
			return nil, at("cert", fmt.Errorf("load certificate %s / key %s: %w (check the paths and that the key matches the certificate)", p.Cert, p.Key, err))
		}
		if m.notAfter.IsZero() || cert.Leaf.NotAfter.Before(m.notAfter) {
			m.notAfter = cert.Leaf.NotAfter
		}
		if time.Now().After(cert.Leaf.NotAfter) {
			warnings = append(warnings, fmt.Sprintf("certificate %s expired on %s: renew it", p.Cert, cert.Leaf.NotAfter.Format(time.RFC3339)))
		}
		if fi, err := os.Stat(p.Key); err == nil && keyExposed(fi) {
			warnings = append(warnings, fmt.Sprintf("key file %s is readable by group or others (mode %04o): chmod 600 it (or 640 with a group only the tunnel is in)", p.Key, fi.Mode().Perm()))
		}
		base.Certificates = append(base.Certificates, cert)
	}
	return warnings, nil
}

// loadCA reads the CA bundle, nil without one.
func (l *ListenerConfig) loadCA() (*x509.CertPool, error) {
	if l.CA == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(l.CA)
	if err != nil {
		return nil, at("ca", fmt.Errorf("read CA bundle: %w", err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, at("ca", fmt.Errorf("CA bundle %s holds no PEM certificate: give a PEM file with one or more CERTIFICATE blocks", l.CA))
	}
	return pool, nil
}

// serverMaterial builds a server listener's configuration: mTLS with the
// allow list when there is a client CA (or a Workload API bundle).
func (l *ListenerConfig) serverMaterial(m *material, opts pqtls.Options, pool *x509.CertPool, workload bool) error {
	base := opts.Base
	if pool != nil {
		base.ClientCAs = pool
		base.ClientAuth = tls.RequireAndVerifyClientCert
	}
	m.identify = func(tls.ConnectionState) (string, error) { return "", nil } // no client certificates
	if pool != nil || workload {
		m.identify = aclIdentify(pqtls.RoleServer, l.Allow)
		base.VerifyConnection = func(cs tls.ConnectionState) error {
			_, err := m.identify(cs)
			return err
		}
	}
	cfg, err := pqtls.ServerConfig(opts)
	if err != nil {
		return err
	}
	cfg.NextProtos = base.NextProtos
	onHello(cfg, base.NextProtos)
	m.config = cfg
	if l.TargetTLS {
		if m.target, err = l.targetConfig(); err != nil {
			return at("target_ca", err)
		}
	}
	return nil
}

// clientMaterial builds a client listener's configuration: the server is
// verified by name, or by identity (verify) after a chain check against the
// CA bundle or the Workload API bundle.
func (l *ListenerConfig) clientMaterial(m *material, opts pqtls.Options, pool *x509.CertPool, workload bool) error {
	base := opts.Base
	base.RootCAs = pool
	base.ClientSessionCache = tls.NewLRUClientSessionCache(256)
	base.ServerName = l.ServerName
	if base.ServerName == "" {
		if network, addr, _ := splitAddr(l.Target); network == "tcp" {
			base.ServerName, _, _ = net.SplitHostPort(addr)
		}
	}
	switch {
	case !l.Verify.Empty():
		// Identity pinning (SPIFFE style certificates carry no DNS
		// name): verify the chain ourselves (or go-spiffe does, with the
		// Workload API), then match the identity.
		m.identify = aclIdentify(pqtls.RoleClient, l.Verify)
		base.InsecureSkipVerify = true
		base.VerifyConnection = func(cs tls.ConnectionState) error {
			if !workload {
				if err := verifyChain(cs.PeerCertificates, pool); err != nil {
					return err
				}
			}
			_, err := m.identify(cs)
			return err
		}
	default:
		// crypto/tls verified the chain for this name: it is the
		// identity that was checked.
		name := base.ServerName
		m.identify = func(tls.ConnectionState) (string, error) { return name, nil }
	}
	cfg, err := pqtls.ClientConfig(opts)
	if err != nil {
		return err
	}
	cfg.NextProtos = base.NextProtos
	m.config = cfg
	return nil
}

// verifyChain verifies a server's chain against the CA pool (nil: system
// roots).
func verifyChain(certs []*x509.Certificate, pool *x509.CertPool) error {
	if len(certs) == 0 {
		return errors.New("tunnel: server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	return nil
}

// onHello wraps the server config's GetConfigForClient. It notes the
// client's SNI on the tunnel's socket as soon as the ClientHello is read
// (crypto/tls sets ConnectionState.ServerName only later, so a handshake
// refused at ClientHello time, by the require policy or for no shared
// group, would otherwise be logged with an empty sni= although its error
// names the SNI), and it keeps the listener's ALPN list on any per-client
// configuration the library returns: the tunnel answers with ALPN only when
// its config lists protocols.
func onHello(cfg *tls.Config, alpn []string) {
	inner := cfg.GetConfigForClient
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if sc, ok := hello.Conn.(*sockConn); ok {
			sc.sni.Store(&hello.ServerName)
		}
		if inner == nil {
			return nil, nil
		}
		c, err := inner(hello)
		if err != nil || c == nil || slices.Equal(c.NextProtos, alpn) {
			return c, err
		}
		c = c.Clone()
		c.NextProtos = alpn
		return c, nil
	}
}

// aclIdentify returns the identity decision of an ACL for the peer's leaf
// certificate.
func aclIdentify(role pqtls.Role, acl ACL) func(tls.ConnectionState) (string, error) {
	return func(cs tls.ConnectionState) (string, error) {
		if len(cs.PeerCertificates) == 0 {
			return "", &ACLError{Identity: "(no certificate)", Role: role}
		}
		id, err := acl.Identify(cs.PeerCertificates[0])
		if err != nil {
			return "", refusal(role, cs.PeerCertificates[0], err)
		}
		return id, nil
	}
}

// targetConfig is the client configuration towards a TLS target: the local
// hop may be classical and TLS 1.2 (the backend's own stack decides).
func (l *ListenerConfig) targetConfig() (*tls.Config, error) {
	base := &tls.Config{ServerName: l.TargetServerName, DynamicRecordSizingDisabled: true} // no ALPN on the local hop
	if base.ServerName == "" {
		if network, addr, _ := splitAddr(l.Target); network == "tcp" {
			base.ServerName, _, _ = net.SplitHostPort(addr)
		}
	}
	if l.TargetCA != "" {
		pem, err := os.ReadFile(l.TargetCA)
		if err != nil {
			return nil, fmt.Errorf("read target CA bundle: %w", err)
		}
		base.RootCAs = x509.NewCertPool()
		if !base.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("target CA bundle %s holds no PEM certificate", l.TargetCA)
		}
	}
	return pqtls.ClientConfig(pqtls.Options{Policy: pqtls.Policy{Mode: pqtls.ModePrefer, MinVersion: tls.VersionTLS12}, Base: base})
}

// keyExposed reports whether a key file grants access beyond its owner and
// the tunnel's own group: any permission for others, or group permissions
// for a group the process is not in. A key shared with the tunnel's own
// group (0640 root:pqtls under systemd, 0440 with fsGroup in Kubernetes,
// where the tunnel cannot own the secret files) is the usual way to let a
// non-root service read it.
func keyExposed(fi os.FileInfo) bool {
	perm := fi.Mode().Perm()
	if perm&0o007 != 0 {
		return true
	}
	if perm&0o070 == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	if int(st.Gid) == os.Getgid() {
		return false
	}
	groups, _ := os.Getgroups()
	return !slices.Contains(groups, int(st.Gid))
}
