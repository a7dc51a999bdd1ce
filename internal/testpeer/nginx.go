package testpeer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/testpki"
)

// nginxStreamModule is Debian's dynamic stream module (libnginx-mod-stream).
const nginxStreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"

// NginxOptions configures [Nginx]. The zero value is an HTTPS server
// answering every request with "hello from nginx\n", using a certificate for
// localhost/127.0.0.1/::1 from a fresh CA.
//
// Debian's nginx links OpenSSL 3.0: it is a classical-only peer (no ML-KEM
// groups), which is exactly what the "legacy service" and "classical
// client" tests need.
type NginxOptions struct {
	// Cert is the server certificate; nil issues one from a new CA.
	Cert *testpki.Cert
	// Protocols is ssl_protocols, default "TLSv1.2 TLSv1.3".
	Protocols string
	// ECDHCurve is ssl_ecdh_curve, e.g. "X25519:prime256v1" (default: nginx's
	// "auto").
	ECDHCurve string
	// ClientCA, when set, makes nginx require and verify client
	// certificates (ssl_verify_client on).
	ClientCA *testpki.CA
	// Stream uses the stream (TCP) module instead of http: TLS is
	// terminated and bytes are proxied to ProxyTarget (or Body is returned).
	Stream bool
	// NoTLS listens in cleartext (nginx as a plain backend).
	NoTLS bool
	// ProxyTarget is "host:port" to proxy to (http: proxy_pass
	// http(s)://target; stream: proxy_pass target).
	ProxyTarget string
	// ProxySSL makes nginx speak TLS to ProxyTarget (a classical OpenSSL 3.0
	// client), trusting ProxyCA when set (verification off otherwise).
	ProxySSL bool
	// ProxyCA verifies the upstream with ProxySSL.
	ProxyCA *testpki.CA
	// Body is returned when there is no ProxyTarget; default
	// "hello from nginx\n".
	Body string
	// Extra is raw configuration inserted in the server block.
	Extra string
	// HTTPExtra is raw configuration inserted in the http block (log_format).
	HTTPExtra string
}

// NginxPeer is a running nginx.
type NginxPeer struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// Port is the listening port.
	Port int
	// CA issued Cert (nil with NoTLS).
	CA *testpki.CA
	// Cert is the server certificate.
	Cert *testpki.Cert
	// Dir holds nginx.conf, logs and temp paths.
	Dir string
	// Config is the generated nginx.conf.
	Config string
	// Proc is the nginx master process.
	Proc *Proc
}

// AccessLog returns the access log so far (http mode).
func (n *NginxPeer) AccessLog() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "access.log"))
	return string(b)
}

// Nginx starts nginx in the foreground (daemon off) with a generated config,
// everything (pid, logs, temp paths) in a temp dir, on a free 127.0.0.1 port,
// and waits until it accepts connections.
func Nginx(tb testing.TB, opts NginxOptions) *NginxPeer {
	tb.Helper()
	Require(tb, PeerNginx)
	bin, _ := Find(PeerNginx)
	if opts.Stream {
		if _, err := os.Stat(nginxStreamModule); err != nil {
			Missing(tb, "nginx stream module (libnginx-mod-stream)", err)
		}
	}
	return startNginx(tb, opts, tb.TempDir(), direct(bin))
}

// startNginx writes the config into dir and starts nginx through cmd (the
// host binary, or the Debian 13 tree's through chroot: dir is then a path
// valid on both sides).
func startNginx(tb testing.TB, opts NginxOptions, dir string, cmd command) *NginxPeer {
	tb.Helper()
	n := &NginxPeer{Dir: dir}
	if !opts.NoTLS || opts.Cert != nil {
		n.CA, n.Cert = serverCert(tb, opts.Cert)
	}
	conf := filepath.Join(n.Dir, "nginx.conf")
	n.Port, n.Proc = startOnFreePort(tb, func(port int) *Proc {
		n.Port = port
		n.Addr = hostPort(port)
		n.Config = n.config(tb, opts)
		if err := os.WriteFile(conf, []byte(n.Config), 0o644); err != nil {
			tb.Fatalf("testpeer: %v", err)
		}
		if out, err := runArgv(RunTimeout, cmd("-t", "-p", n.Dir, "-c", conf, "-e", "stderr")); err != nil {
			tb.Fatalf("testpeer: nginx config test: %v\n%s\n%s", err, out, n.Config)
		}
		return startArgv(tb, "nginx", procOptions{}, cmd("-p", n.Dir, "-c", conf, "-e", "stderr"))
	}, nil)
	return n
}

func (n *NginxPeer) config(tb testing.TB, o NginxOptions) string {
	tb.Helper()
	d := n.Dir
	var tlsConf strings.Builder
	if !o.NoTLS {
		if err := os.WriteFile(filepath.Join(d, "cert.pem"), n.Cert.ChainPEM(), 0o644); err != nil {
			tb.Fatalf("testpeer: %v", err)
		}
		if err := os.WriteFile(filepath.Join(d, "key.pem"), n.Cert.KeyPEM, 0o600); err != nil {
			tb.Fatalf("testpeer: %v", err)
		}
		protocols := o.Protocols
		if protocols == "" {
			protocols = "TLSv1.2 TLSv1.3"
		}
		fmt.Fprintf(&tlsConf, "    ssl_certificate %s/cert.pem;\n    ssl_certificate_key %s/key.pem;\n    ssl_protocols %s;\n", d, d, protocols)
		if o.ECDHCurve != "" {
			fmt.Fprintf(&tlsConf, "    ssl_ecdh_curve %s;\n", o.ECDHCurve)
		}
		if o.ClientCA != nil {
			if err := os.WriteFile(filepath.Join(d, "client-ca.pem"), o.ClientCA.CertPEM, 0o644); err != nil {
				tb.Fatalf("testpeer: %v", err)
			}
			fmt.Fprintf(&tlsConf, "    ssl_client_certificate %s/client-ca.pem;\n    ssl_verify_client on;\n", d)
		}
	}
	var proxySSL string
	if o.ProxySSL {
		// nginx 1.22 defaults to TLSv1 TLSv1.1 TLSv1.2 upstream.
		proxySSL = "    proxy_ssl_server_name on;\n    proxy_ssl_name localhost;\n    proxy_ssl_protocols TLSv1.2 TLSv1.3;\n"
		if o.ProxyCA != nil {
			if err := os.WriteFile(filepath.Join(d, "proxy-ca.pem"), o.ProxyCA.CertPEM, 0o644); err != nil {
				tb.Fatalf("testpeer: %v", err)
			}
			proxySSL += fmt.Sprintf("    proxy_ssl_trusted_certificate %s/proxy-ca.pem;\n    proxy_ssl_verify on;\n", d)
		}
	}
	body := o.Body
	if body == "" {
		body = "hello from nginx\n"
	}
	ssl := " ssl"
	if o.NoTLS {
		ssl = ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# generated by internal/testpeer\n")
	if o.Stream {
		fmt.Fprintf(&b, "load_module %s;\n", nginxStreamModule)
	}
	b.WriteString("daemon off;\nmaster_process on;\nworker_processes 1;\n")
	if os.Geteuid() == 0 {
		b.WriteString("user root root;\n") // workers must read the 0700 temp dir
	}
	fmt.Fprintf(&b, "pid %s/nginx.pid;\nerror_log stderr notice;\nevents { worker_connections 256; }\n", d)
	if o.Stream {
		b.WriteString("stream {\n  server {\n")
		fmt.Fprintf(&b, "    listen 127.0.0.1:%d%s;\n%s", n.Port, ssl, tlsConf.String())
		if o.ProxyTarget != "" {
			fmt.Fprintf(&b, "    proxy_pass %s;\n    proxy_connect_timeout 10s;\n", o.ProxyTarget)
			if o.ProxySSL {
				b.WriteString("    proxy_ssl on;\n" + proxySSL)
			}
		} else {
			fmt.Fprintf(&b, "    return %s;\n", strconv.Quote(body))
		}
		b.WriteString(o.Extra + "\n  }\n}\n")
		return b.String()
	}
	b.WriteString("http {\n" + o.HTTPExtra + "\n")
	fmt.Fprintf(&b, "  access_log %s/access.log;\n", d)
	for _, p := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "  %s_temp_path %s/%s_temp;\n", p, d, p)
	}
	b.WriteString("  server {\n")
	fmt.Fprintf(&b, "    listen 127.0.0.1:%d%s;\n    server_name localhost;\n%s", n.Port, ssl, tlsConf.String())
	if o.ProxyTarget != "" {
		scheme := "http"
		if o.ProxySSL {
			scheme = "https"
		}
		fmt.Fprintf(&b, "    location / {\n      proxy_pass %s://%s;\n      proxy_connect_timeout 10s;\n%s    }\n", scheme, o.ProxyTarget, proxySSL)
	} else {
		fmt.Fprintf(&b, "    location / {\n      default_type text/plain;\n      return 200 %s;\n    }\n", strconv.Quote(body))
	}
	b.WriteString(o.Extra + "\n  }\n}\n")
	return b.String()
}
