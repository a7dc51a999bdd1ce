// Package observe reads TLS handshakes passively from captured traffic and
// reports, per TCP flow, the groups the client offered, the key shares it
// sent, the group the server chose and an outcome (hybrid, pq, classical,
// tls12, failed, incomplete). It is the library behind `pqtls observe`.
//
// Packets come from a pcap/pcapng file ([ReadFile], [ReadCapture]) or a live
// interface ([Live], Linux AF_PACKET); an [Analyzer] reassembles the first
// flights of each TCP direction (reordering, retransmissions, overlaps),
// parses them with internal/wire and calls back once per flow with a
// [Flow], the pqtls.observe/v1 record. Memory is bounded: flows are evicted
// when they close or go idle, and nothing is buffered after a flow's
// outcome is known. A [Recorder] turns flows into the shared
// tls_handshake_* metrics with role="observed"; a [Summary] aggregates them
// by server or client. See docs/OBSERVE.md.
package observe
