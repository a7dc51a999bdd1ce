// Package wire encodes and parses the clear-text part of TLS handshakes: the
// record layer, ClientHello, ServerHello, HelloRetryRequest, alerts, and the
// TLS 1.2 ServerKeyExchange and Certificate messages. It is written with
// golang.org/x/crypto/cryptobyte and is the shared base of `pqtls scan`,
// `pqtls canary`, `pqtls exporter` and `pqtls observe`.
//
// Unlike crypto/tls, which only offers the groups it implements, this package
// can craft any ClientHello a prober needs: any supported_groups codepoint,
// empty or real key shares (see [GenerateKeyShare]), padding to a target size,
// record-layer fragmentation ([ClientHello.MarshalRecords]) and TCP-level
// splitting ([Exchange]).
//
// Building and probing:
//
//	ch := wire.NewClientHello13("example.com")
//	ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768}
//	// No KeyShares: the key_share extension goes out empty, so a server
//	// that supports the group must answer with a HelloRetryRequest.
//	conn.SetDeadline(time.Now().Add(5 * time.Second))
//	res, err := wire.Exchange(ctx, conn, ch, wire.ExchangeOptions{})
//	if err == nil && res.Outcome == wire.OutcomeHelloRetryRequest {
//		fmt.Println(pqtls.GroupName(res.ServerHello.SelectedGroup))
//	}
//
// [ExchangeWithRetry] follows a HelloRetryRequest with [ClientHello.Retry];
// [ExchangeResult.Reader] reads on through a TLS 1.2 flight
// ([ParseCertificateChain12], [ParseServerKeyExchangeECDHE]).
//
// [Handshake13] reads a TLS 1.3 server's encrypted flight up to its
// CertificateVerify: the hello carries key shares whose private keys are
// kept ([NewKeyAgreement]), so it derives the server handshake traffic key
// (RFC 8446 section 7.1) and returns the certificate chain and the
// signature scheme without completing the handshake. `pqtls scan` uses it
// with ML-DSA-only signature_algorithms ([SchemeMLDSA44] ...) to read the
// ML-DSA chains a server has, on Go versions whose crypto/tls cannot.
//
// Parsing passively captured traffic:
//
//	r := wire.NewReader(bytes.NewReader(clientBytes))
//	msg, err := r.ReadMessage()
//	ch, err := wire.ParseClientHello(msg.Data)
//
// Every parser is strict: it rejects trailing bytes, duplicate extensions and
// malformed vectors with an error wrapping [ErrMalformed], and never panics on
// any input (each has a native fuzz target). Parsed byte slices may alias the
// input buffer.
package wire
