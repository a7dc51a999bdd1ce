package testpeer

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
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

// HAProxyOptions configures [HAProxy]. The zero value is a TLS frontend in
// http mode answering "hello from haproxy\n", with a certificate from a new
// CA.
type HAProxyOptions struct {
	// Cert is the frontend certificate; nil issues one from a new CA.
	Cert *testpki.Cert
	// Curves is the bind "curves" option, e.g. "X25519:P-256".
	Curves string
	// MinVersion is the bind ssl-min-ver, e.g. "TLSv1.3".
	MinVersion string
	// ClientCA requires client certificates from this CA (verify required).
	ClientCA *testpki.CA
	// TCP uses mode tcp (TLS termination, bytes proxied to Backend).
	TCP bool
	// Backend is "host:port" to forward to; empty answers with Body (http
	// mode only).
	Backend string
	// BackendSSL speaks TLS to the backend (verify none unless BackendCA).
	BackendSSL bool
	// BackendCA verifies the backend with BackendSSL.
	BackendCA *testpki.CA
	// Body is the http-mode answer without Backend.
	Body string
	// NoTLS binds in cleartext (Cert, Curves, MinVersion, ClientCA unused).
	NoTLS bool
	// AcceptProxy requires a PROXY protocol header (bind ... accept-proxy).
	AcceptProxy bool
	// LogFormat is the frontend's log-format; each connection's line goes
	// to HAProxy's stderr ([HAProxyPeer.Log]).
	LogFormat string
}

// HAProxyPeer is a running haproxy.
type HAProxyPeer struct {
	// Addr is "127.0.0.1:port".
	Addr string
	Port int
	// CA issued Cert.
	CA   *testpki.CA
	Cert *testpki.Cert
	// Config is the generated haproxy.cfg.
	Config string
	Proc   *Proc
}

// Log returns HAProxy's log lines so far (its stderr: raw format).
func (h *HAProxyPeer) Log() string { return h.Proc.Output() }

// HAProxy starts haproxy in the foreground (-db) with a generated config on
// a free 127.0.0.1 port and waits until it accepts. Debian's HAProxy links
// OpenSSL 3.0: a classical-only TLS peer.
func HAProxy(tb testing.TB, opts HAProxyOptions) *HAProxyPeer {
	tb.Helper()
	Require(tb, PeerHAProxy)
	bin, _ := Find(PeerHAProxy)
	return startHAProxy(tb, opts, tb.TempDir(), direct(bin))
}

// haproxyBind returns the frontend's bind line (@PORT@ for the port),
// writing the certificate files into dir.
func (h *HAProxyPeer) haproxyBind(tb testing.TB, opts HAProxyOptions, dir string) string {
	tb.Helper()
	bind := "bind 127.0.0.1:@PORT@"
	if opts.AcceptProxy {
		bind += " accept-proxy"
	}
	if opts.NoTLS {
		return bind
	}
	h.CA, h.Cert = serverCert(tb, opts.Cert)
	crt := filepath.Join(dir, "combined.pem")
	if err := writeFileMode(crt, h.Cert.CombinedPEM(), 0o600); err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	bind += " ssl crt " + crt
	if opts.Curves != "" {
		bind += " curves " + opts.Curves
	}
	if opts.MinVersion != "" {
		bind += " ssl-min-ver " + opts.MinVersion
	}
	if opts.ClientCA != nil {
		f := filepath.Join(dir, "client-ca.pem")
		if err := writeFileMode(f, opts.ClientCA.CertPEM, 0o644); err != nil {
			tb.Fatalf("testpeer: %v", err)
		}
		bind += " ca-file " + f + " verify required"
	}
	return bind
}

// startHAProxy writes the config into dir and starts haproxy through cmd.
func startHAProxy(tb testing.TB, opts HAProxyOptions, dir string, cmd command) *HAProxyPeer {
	tb.Helper()
	h := &HAProxyPeer{}
	if opts.TCP && opts.Backend == "" {
		tb.Fatalf("testpeer: HAProxy TCP mode needs a Backend")
	}
	bind := h.haproxyBind(tb, opts, dir)
	mode := "http"
	if opts.TCP {
		mode = "tcp"
	}
	body := opts.Body
	if body == "" {
		body = "hello from haproxy\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# generated by internal/testpeer\nglobal\n  log stderr format raw local0 info\n  pidfile %s/haproxy.pid\n", dir)
	fmt.Fprintf(&b, "defaults\n  mode %s\n  log global\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n", mode)
	fmt.Fprintf(&b, "frontend fe\n  %s\n", bind)
	if opts.LogFormat != "" {
		fmt.Fprintf(&b, "  log-format %q\n", opts.LogFormat)
	}
	if opts.Backend != "" {
		server := "server s1 " + opts.Backend
		if opts.BackendSSL {
			server += " ssl sni str(localhost)"
			if opts.BackendCA != nil {
				f := filepath.Join(dir, "backend-ca.pem")
				if err := writeFileMode(f, opts.BackendCA.CertPEM, 0o644); err != nil {
					tb.Fatalf("testpeer: %v", err)
				}
				server += " verify required ca-file " + f + " verifyhost localhost"
			} else {
				server += " verify none"
			}
		}
		fmt.Fprintf(&b, "  default_backend be\nbackend be\n  %s\n", server)
	} else {
		fmt.Fprintf(&b, "  http-request return status 200 content-type text/plain string %q\n", body)
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	h.Port, h.Proc = startOnFreePort(tb, func(port int) *Proc {
		h.Config = strings.ReplaceAll(b.String(), "@PORT@", strconv.Itoa(port))
		if err := os.WriteFile(cfg, []byte(h.Config), 0o644); err != nil {
			tb.Fatalf("testpeer: %v", err)
		}
		if out, err := runArgv(RunTimeout, cmd("-c", "-f", cfg)); err != nil {
			tb.Fatalf("testpeer: haproxy -c: %v\n%s\n%s", err, out, h.Config)
		}
		return startArgv(tb, "haproxy", procOptions{dir: dir}, cmd("-db", "-f", cfg))
	}, nil)
	h.Addr = hostPort(h.Port)
	return h
}

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

// NXDomainResolver returns a resolver that never leaves the process: every
// query gets NXDOMAIN, so a lookup fails with "no such host". lookups
// counts the DNS exchanges started (A and AAAA are two).
func NXDomainResolver() (r *net.Resolver, lookups *atomic.Int32) {
	lookups = new(atomic.Int32)
	r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		lookups.Add(1)
		client, server := net.Pipe()
		go answerNXDomain(server)
		return client, nil
	}}
	return r, lookups
}

// answerNXDomain answers DNS queries in TCP framing (a net.Pipe is not a
// PacketConn) with NXDOMAIN until the client closes.
func answerNXDomain(c net.Conn) {
	defer c.Close()
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil || len(q) < 12 {
			return
		}
		q[2], q[3] = 0x81, 0x83 // response, recursion desired and available, NXDOMAIN
		for i := 6; i < 12; i++ {
			q[i] = 0 // no answer, authority or additional records
		}
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)); err != nil {
			return
		}
	}
}
