package testpeer

import (
	"strconv"
	"testing"

	"github.com/pqtls/pqtls/internal/testpki"
)

// RedisOptions configures [Redis]. The zero value is a TLS-only Redis
// (--port 0 --tls-port N) with a certificate from a new CA and no client
// certificate required.
type RedisOptions struct {
	// Cert is the server certificate; nil issues one from a new CA.
	Cert *testpki.Cert
	// NoTLS runs a cleartext Redis instead (--port N).
	NoTLS bool
	// ClientCA, when set, requires client certificates from it
	// (--tls-auth-clients yes).
	ClientCA *testpki.CA
	// Protocols is --tls-protocols, e.g. "TLSv1.3".
	Protocols string
}

// RedisPeer is a running redis-server.
type RedisPeer struct {
	// Addr is "127.0.0.1:port".
	Addr string
	Port int
	// CA issued Cert (TLS mode).
	CA   *testpki.CA
	Cert *testpki.Cert
	Proc *Proc
}

// Redis starts redis-server on a free 127.0.0.1 port, no persistence, data
// dir in a temp dir, and waits until it accepts. Debian's Redis links
// OpenSSL 3.0: a classical-only TLS peer.
func Redis(tb testing.TB, opts RedisOptions) *RedisPeer {
	tb.Helper()
	Require(tb, PeerRedis)
	bin, _ := Find(PeerRedis)
	return startRedis(tb, opts, tb.TempDir(), direct(bin))
}

// startRedis starts redis-server through cmd with its files in dir.
func startRedis(tb testing.TB, opts RedisOptions, dir string, cmd command) *RedisPeer {
	tb.Helper()
	r := &RedisPeer{}
	args := []string{"--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--protected-mode", "no", "--logfile", ""}
	if opts.NoTLS {
	} else {
		r.CA, r.Cert = serverCert(tb, opts.Cert)
		f := r.Cert.WriteFiles(tb, dir)
		args = append(args, "--port", "0",
			"--tls-cert-file", f.Cert, "--tls-key-file", f.Key)
		if opts.ClientCA != nil {
			caFile := dir + "/client-ca.pem"
			if err := writeFileMode(caFile, opts.ClientCA.CertPEM, 0o644); err != nil {
				tb.Fatalf("testpeer: %v", err)
			}
			args = append(args, "--tls-ca-cert-file", caFile, "--tls-auth-clients", "yes")
		} else {
			args = append(args, "--tls-ca-cert-file", f.CA, "--tls-auth-clients", "no")
		}
		if opts.Protocols != "" {
			args = append(args, "--tls-protocols", opts.Protocols)
		}
	}
	r.Port, r.Proc = startOnFreePort(tb, func(port int) *Proc {
		portFlag := "--tls-port"
		if opts.NoTLS {
			portFlag = "--port"
		}
		return startArgv(tb, "redis-server", procOptions{dir: dir}, cmd(append(args, portFlag, strconv.Itoa(port))...))
	}, nil)
	r.Addr = hostPort(r.Port)
	return r
}
