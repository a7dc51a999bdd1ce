// Package canary answers the phase 3 question of a hybrid post-quantum TLS
// migration: will this network path and this server carry a 1.5–2 KB hybrid
// ClientHello, and what does hybrid key exchange cost in latency and bytes?
//
// Run sends a matrix of handshakes to one target, each case repeated
// Options.Count times and interleaved round by round so that a change of
// conditions affects every case alike:
//
//   - crafted ClientHellos built with internal/wire (classical baseline,
//     hybrid at once, hybrid split over two TCP writes with a pause, hybrid
//     split over several TLS records, SecP384r1MLKEM1024, padded to 4 KB and
//     16 KB, and the HelloRetryRequest path), each sent far enough to read
//     the server's answer (ServerHello, HelloRetryRequest or alert);
//   - full handshakes with Go's crypto/tls client, classical and hybrid, to
//     measure the real cost of hybrid on this path.
//
// The Report gives per case the success rate, the failure classes (ok,
// timeout, reset, eof, alert:<name>, unexpected, connect_failed), latency
// percentiles and bytes, the path as the client sees it (interface and route
// MTU, TCP MSS, RTT, an optional DF-bit path-MTU probe), and a Verdict in
// plain words with the exit status a script needs.
package canary
