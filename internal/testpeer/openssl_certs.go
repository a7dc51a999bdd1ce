package testpeer

import (
	"path/filepath"
	"testing"
)

// openSSLNewKey are `openssl req -newkey` arguments per key type name.
var openSSLNewKey = map[string][]string{
	"ML-DSA-44": {"-newkey", "ML-DSA-44"}, "ML-DSA-65": {"-newkey", "ML-DSA-65"}, "ML-DSA-87": {"-newkey", "ML-DSA-87"},
	"RSA-2048":    {"-newkey", "rsa:2048", "-sha256"},
	"ECDSA P-256": {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha256"},
	"ECDSA P-384": {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-sha384"},
}

// OpenSSLCert makes dir/name.pem and dir/name.key with the tree's OpenSSL
// 3.5 (`openssl req -x509`): a key of type keyType ("ML-DSA-44",
// "ML-DSA-65", "ML-DSA-87", "RSA-2048", "ECDSA P-256", "ECDSA P-384"),
// subject CN=name, SANs localhost and 127.0.0.1, valid two days;
// self-signed when issuer is "", else issued by dir/issuer.pem (the
// issuer's default digest: SHA-256 for an ECDSA issuer). dir comes from
// [Debian13.TempDir].
func (d *Debian13) OpenSSLCert(tb testing.TB, dir, name, keyType, issuer string) (certFile, keyFile string) {
	tb.Helper()
	newKey, ok := openSSLNewKey[keyType]
	if !ok {
		tb.Fatalf("testpeer: unknown key type %q", keyType)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	args := append([]string{"req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=" + name, "-keyout", keyFile, "-out", certFile,
		"-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"}, newKey...)
	if issuer != "" {
		args = append(args, "-CA", filepath.Join(dir, issuer+".pem"), "-CAkey", filepath.Join(dir, issuer+".key"),
			"-addext", "basicConstraints=critical,CA:FALSE")
	}
	if out, err := d.Run("/usr/bin/openssl", args...); err != nil {
		tb.Fatalf("testpeer: openssl req for %s (%s): %v\n%s", name, keyType, err, out)
	}
	return certFile, keyFile
}

// SServer starts `openssl s_server -www -tls1_3` on a free 127.0.0.1 port
// with args (certificates: -cert/-key/-cert_chain, -dcert/-dkey/
// -dcert_chain; -groups...) and returns its address. Use it for
// configurations [Debian13.OpenSSLServer] does not cover (ML-DSA, two
// certificates).
func (d *Debian13) SServer(tb testing.TB, args ...string) string {
	tb.Helper()
	port, _ := startOnFreePort(tb, func(port int) *Proc {
		argv := append([]string{"s_server", "-www", "-tls1_3", "-accept", hostPort(port)}, args...)
		return startArgv(tb, "openssl s_server", procOptions{}, d.Command("/usr/bin/openssl", argv...))
	}, nil)
	return hostPort(port)
}
