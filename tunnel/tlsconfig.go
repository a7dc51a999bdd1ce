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

// buildMaterial loads certificates and CA bundles from disk and builds the
// listener's TLS configuration through pqtls.ServerConfig/ClientConfig.
func (l *ListenerConfig) buildMaterial(logger *slog.Logger) (*material, []string, error) {
	var warnings []string
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
	base := &tls.Config{NextProtos: alpn}
	m := &material{}
	if l.Cert != "" {
		cert, err := tls.LoadX509KeyPair(l.Cert, l.Key)
		if err != nil {
			return nil, nil, at("cert", fmt.Errorf("load certificate %s / key %s: %w (check the paths and that the key matches the certificate)", l.Cert, l.Key, err))
		}
		if cert.Leaf == nil {
			if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
				return nil, nil, at("cert", fmt.Errorf("parse certificate %s: %w", l.Cert, err))
			}
		}
		m.notAfter = cert.Leaf.NotAfter
		if time.Now().After(cert.Leaf.NotAfter) {
			warnings = append(warnings, fmt.Sprintf("certificate %s expired on %s: renew it", l.Cert, cert.Leaf.NotAfter.Format(time.RFC3339)))
		}
		if fi, err := os.Stat(l.Key); err == nil && keyExposed(fi) {
			warnings = append(warnings, fmt.Sprintf("key file %s is readable by group or others (mode %04o): chmod 600 it (or 640 with a group only the tunnel is in)", l.Key, fi.Mode().Perm()))
		}
		base.Certificates = []tls.Certificate{cert}
	}
	var pool *x509.CertPool
	if l.CA != "" {
		pem, err := os.ReadFile(l.CA)
		if err != nil {
			return nil, nil, at("ca", fmt.Errorf("read CA bundle: %w", err))
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, at("ca", fmt.Errorf("CA bundle %s holds no PEM certificate: give a PEM file with one or more CERTIFICATE blocks", l.CA))
		}
	}
	opts := pqtls.Options{Policy: pol, Base: base, Logger: logger}
	switch l.Mode {
	case ModeServer:
		if pool != nil {
			base.ClientCAs = pool
			base.ClientAuth = tls.RequireAndVerifyClientCert
		}
		if pool != nil {
			m.identify = aclIdentify(pqtls.RoleServer, l.Allow)
			base.VerifyConnection = func(cs tls.ConnectionState) error {
				_, err := m.identify(cs)
				return err
			}
		}
		cfg, err := pqtls.ServerConfig(opts)
		if err != nil {
			return nil, nil, err
		}
		cfg.NextProtos = l.ALPN
		onHello(cfg, l.ALPN)
		m.config = cfg
		if l.TargetTLS {
			if m.target, err = l.targetConfig(); err != nil {
				return nil, nil, at("target_ca", err)
			}
		}
	case ModeClient:
		base.RootCAs = pool
		base.ClientSessionCache = tls.NewLRUClientSessionCache(256)
		base.ServerName = l.ServerName
		if base.ServerName == "" {
			if network, addr, _ := splitAddr(l.Target); network == "tcp" {
				base.ServerName, _, _ = net.SplitHostPort(addr)
			}
		}
		if !l.Verify.Empty() {
			// Identity pinning (SPIFFE style certificates carry no DNS
			// name): verify the chain ourselves, then match the identity.
			acl := l.Verify
			base.InsecureSkipVerify = true
			base.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("tunnel: server sent no certificate")
				}
				inter := x509.NewCertPool()
				for _, c := range cs.PeerCertificates[1:] {
					inter.AddCert(c)
				}
				if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
					return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
				}
				_, err := m.identify(cs)
				return err
			}
			m.identify = aclIdentify(pqtls.RoleClient, acl)
		} else {
			// crypto/tls verified the chain for this name: it is the
			// identity that was checked.
			name := base.ServerName
			m.identify = func(tls.ConnectionState) (string, error) { return name, nil }
		}
		cfg, err := pqtls.ClientConfig(opts)
		if err != nil {
			return nil, nil, err
		}
		cfg.NextProtos = l.ALPN
		m.config = cfg
	}
	if m.identify == nil { // server mode without client certificates
		m.identify = func(tls.ConnectionState) (string, error) { return "", nil }
	}
	return m, warnings, nil
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
	base := &tls.Config{ServerName: l.TargetServerName} // no ALPN on the local hop
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
