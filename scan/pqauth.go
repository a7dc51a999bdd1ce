package scan

import (
	"context"
	"crypto/tls"
	"slices"
	"strings"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/wire"
)

// MLDSAAuth is whether the server can authenticate with ML-DSA: the answer
// to crafted TLS 1.3 ClientHellos whose signature_algorithms list only the
// ML-DSA schemes (draft-ietf-tls-mldsa), with a hybrid key share. A
// ServerHello means it has an ML-DSA certificate; a handshake_failure
// alert means it has none. The scanner then decrypts the server's flight
// (its own key share: no handshake is completed) to read the chain and
// the CertificateVerify scheme.
type MLDSAAuth struct {
	// Capable is true when the server signs with ML-DSA for a client that
	// offers only ML-DSA (ServerHello, then an ML-DSA CertificateVerify),
	// false when it refuses (alert), has no TLS 1.3 or signs classically,
	// null when the probe failed or the flight after a ServerHello could
	// not be decrypted (see Error).
	Capable *bool `json:"capable"`
	// Outcome is the answer to the hello offering all three schemes:
	// server_hello, alert_<description> (alert_handshake_failure for a
	// server without an ML-DSA certificate), no_tls13 (not probed: no TLS
	// 1.3), classical_signature (a ServerHello, then a classical
	// CertificateVerify despite the offer), or a network outcome (timeout,
	// reset, eof...).
	Outcome string `json:"outcome"`
	// Chains lists, per ML-DSA scheme the server signs with, the chain it
	// sends to a client offering only that scheme.
	Chains []MLDSAChain `json:"chains"`
	// Error explains a failed probe or an undecryptable flight.
	Error string `json:"error,omitempty"`
}

// Schemes returns the ML-DSA signature schemes the server signed with, one
// per chain found; nil for a nil a.
func (a *MLDSAAuth) Schemes() []string {
	if a == nil {
		return nil
	}
	var out []string
	for _, c := range a.Chains {
		out = append(out, c.Scheme)
	}
	return out
}

// MLDSAChain is the chain a server sends for one ML-DSA scheme.
type MLDSAChain struct {
	// Scheme is the IANA name of the CertificateVerify scheme: mldsa44,
	// mldsa65 or mldsa87.
	Scheme string `json:"scheme"`
	// CipherSuite is the TLS 1.3 suite the server selected; the probe
	// lists TLS_AES_256_GCM_SHA384 first.
	CipherSuite string `json:"cipher_suite"`
	// Certificates is the chain, leaf first.
	Certificates []CertInfo `json:"certificates"`
}

// mldsaSchemes are the ML-DSA signature schemes, strongest first, with
// their IANA names.
var mldsaSchemes = []struct {
	id   tls.SignatureScheme
	name string
}{{wire.SchemeMLDSA87, "mldsa87"}, {wire.SchemeMLDSA65, "mldsa65"}, {wire.SchemeMLDSA44, "mldsa44"}}

func schemeName(s tls.SignatureScheme) string {
	for _, m := range mldsaSchemes {
		if m.id == s {
			return m.name
		}
	}
	return ""
}

// authProbe groups and suites: the key shares are X25519MLKEM768 and
// x25519; the other groups the scanner can complete a key exchange with
// are listed for a HelloRetryRequest. AES-256 first, so that the suite a
// CNSA 2.0 client would get is what is reported.
var (
	authShares = []tls.CurveID{tls.X25519MLKEM768, tls.X25519}
	authGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.SecP384r1MLKEM1024, 0x0202, tls.SecP256r1MLKEM768, 0x0201, tls.CurveP256, tls.CurveP384, tls.CurveP521}
	authSuites = []uint16{tls.TLS_AES_256_GCM_SHA384, tls.TLS_AES_128_GCM_SHA256, tls.TLS_CHACHA20_POLY1305_SHA256}
)

// authProbe sends one TLS 1.3 hello offering only schemes and returns the
// outcome and, after a ServerHello, the decrypted flight.
func (p *prober) authProbe(ctx context.Context, schemes []tls.SignatureScheme) (string, *wire.ServerFlight, error) {
	conn, err := p.dial(ctx)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close()
	ch := p.hello13(authGroups)
	ch.CipherSuites = slices.Clone(authSuites)
	ch.SignatureAlgorithms = schemes
	var kas []*wire.KeyAgreement
	for _, g := range authShares {
		ka, err := wire.NewKeyAgreement(g)
		if err != nil {
			return "", nil, err
		}
		kas = append(kas, ka)
	}
	res, fl, err := wire.Handshake13(ctx, conn, ch, kas, wire.ExchangeOptions{})
	if res == nil {
		return "", nil, err
	}
	p.log.Debug("ml-dsa probe", "schemes", len(schemes), "outcome", res.Outcome, "err", err)
	switch res.Outcome {
	case wire.OutcomeServerHello:
		return string(wire.OutcomeServerHello), fl, err
	case wire.OutcomeAlert:
		return "alert_" + res.Alert.Description.String(), nil, nil
	}
	return string(res.Outcome), nil, res.Err
}

// probeMLDSA fills res.MLDSA: one hello offering every ML-DSA scheme (one
// connection for a server without ML-DSA), then one per scheme not seen
// yet, so that every ML-DSA certificate the server has is listed.
func (p *prober) probeMLDSA(ctx context.Context, res *Result) {
	no, yes := false, true
	auth := &MLDSAAuth{Chains: []MLDSAChain{}}
	res.MLDSA = auth
	if !slices.Contains(res.Versions, "TLS 1.3") {
		auth.Capable, auth.Outcome = &no, "no_tls13"
		return
	}
	all := make([]tls.SignatureScheme, len(mldsaSchemes))
	for i, m := range mldsaSchemes {
		all[i] = m.id
	}
	outcome, fl, err := p.authProbe(ctx, all)
	auth.Outcome = outcome
	switch {
	case outcome == string(wire.OutcomeServerHello):
	case strings.HasPrefix(outcome, "alert_"):
		auth.Capable = &no
		return
	default:
		if err != nil {
			auth.Error = err.Error()
			res.ProbeErrors = append(res.ProbeErrors, "ML-DSA probe: "+err.Error())
		}
		return
	}
	if err != nil {
		// A ServerHello whose flight does not decrypt is no proof of an
		// ML-DSA certificate: unknown, never capable.
		auth.Error = "ServerHello, then the flight could not be read: " + err.Error()
		res.ProbeErrors = append(res.ProbeErrors, "ML-DSA probe: "+auth.Error)
		return
	}
	if schemeName(fl.SignatureScheme) == "" {
		auth.Capable, auth.Outcome = &no, "classical_signature"
		res.Notes = append(res.Notes, "the server answers a client offering only ML-DSA signature schemes with a classical CertificateVerify ("+fl.SignatureScheme.String()+"): such a client aborts the handshake")
		return
	}
	auth.Capable = &yes
	add := func(fl *wire.ServerFlight) {
		name := schemeName(fl.SignatureScheme)
		if name == "" || slices.ContainsFunc(auth.Chains, func(c MLDSAChain) bool { return c.Scheme == name }) {
			return
		}
		auth.Chains = append(auth.Chains, MLDSAChain{Scheme: name, CipherSuite: tls.CipherSuiteName(fl.CipherSuite), Certificates: certInfosDER(fl.Certificates)})
	}
	add(fl)
	for _, m := range mldsaSchemes {
		if ctx.Err() != nil || slices.ContainsFunc(auth.Chains, func(c MLDSAChain) bool { return c.Scheme == m.name }) {
			continue
		}
		if o, fl, err := p.authProbe(ctx, []tls.SignatureScheme{m.id}); o == string(wire.OutcomeServerHello) && err == nil {
			add(fl)
		}
	}
	slices.SortStableFunc(auth.Chains, func(a, b MLDSAChain) int { return strings.Compare(b.Scheme, a.Scheme) })
}

// CNSA2Verdict is the CNSA 2.0 readiness of an endpoint, a verdict
// dimension next to the key-exchange Verdict.
type CNSA2Verdict string

// CNSA 2.0 verdicts.
const (
	// CNSA2Ready: pure MLKEM1024 key exchange accepted and an ML-DSA-87
	// chain (every certificate sent signed with ML-DSA-87, leaf key
	// ML-DSA-87).
	CNSA2Ready CNSA2Verdict = "ready"
	// CNSA2Transitional: the same with the SecP384r1MLKEM1024 hybrid as the
	// only CNSA 2.0 key exchange (the documented transitional option).
	CNSA2Transitional CNSA2Verdict = "transitional"
	// CNSA2NotReady: the endpoint lacks ML-KEM-1024 key exchange or an
	// ML-DSA-87 chain (see lacks).
	CNSA2NotReady CNSA2Verdict = "not_ready"
	// CNSA2Unknown: not assessed (enumeration off, an error verdict, the
	// ML-DSA probe failed, or the CNSA 2.0 groups were not enumerated).
	CNSA2Unknown CNSA2Verdict = "unknown"
)

// CNSA2Verdicts lists every CNSA 2.0 verdict in report order.
var CNSA2Verdicts = []CNSA2Verdict{CNSA2Ready, CNSA2Transitional, CNSA2NotReady, CNSA2Unknown}

// CNSA2 is the CNSA 2.0 readiness of one endpoint. AES-256 is reported,
// not part of the verdict: a TLS 1.3 client cannot make a server pick a
// suite except by offering only that one.
type CNSA2 struct {
	Verdict CNSA2Verdict `json:"verdict"`
	// KeyExchange lists the CNSA 2.0 groups the server accepts (MLKEM1024,
	// SecP384r1MLKEM1024), in its preference order.
	KeyExchange []string `json:"key_exchange"`
	// MLDSA87Chain: the chain sent for mldsa87 is ML-DSA-87 throughout.
	MLDSA87Chain bool `json:"ml_dsa_87_chain"`
	// CipherSuite is the suite the server selected for the mldsa87 probe
	// (TLS_AES_256_GCM_SHA384 offered first); empty without that chain.
	CipherSuite string `json:"cipher_suite,omitempty"`
	// AES256 reports CipherSuite == TLS_AES_256_GCM_SHA384.
	AES256 bool `json:"aes256"`
	// Lacks names what the endpoint lacks for CNSA 2.0, or why the verdict
	// is unknown.
	Lacks []string `json:"lacks"`
}

// CNSA 2.0 requirements, as Lacks names them.
const (
	LackCNSA2KeyExchange = "ML-KEM-1024 key exchange (MLKEM1024, or SecP384r1MLKEM1024 as the transitional option)"
	LackCNSA2Chain       = "an ML-DSA-87 certificate chain"
)

// assessCNSA2 derives the CNSA 2.0 dimension from the groups and the
// ML-DSA probe.
func assessCNSA2(res *Result, enumerated bool, only []tls.CurveID) CNSA2 {
	c := CNSA2{KeyExchange: []string{}, Lacks: []string{}}
	switch {
	case !res.Verdict.Scanned():
		c.Verdict, c.Lacks = CNSA2Unknown, []string{"the endpoint was not assessed (" + string(res.Verdict) + ")"}
		return c
	case !enumerated:
		c.Verdict, c.Lacks = CNSA2Unknown, []string{"enumeration is off (--enumerate)"}
		return c
	case res.MLDSA == nil || res.MLDSA.Capable == nil:
		c.Verdict, c.Lacks = CNSA2Unknown, []string{"the ML-DSA probe failed"}
		return c
	}
	pure := false
	for _, g := range res.Groups {
		if !g.Broken() && slices.Contains(pqtls.CNSA2Groups, tls.CurveID(g.ID)) {
			c.KeyExchange = append(c.KeyExchange, g.Name)
			pure = pure || tls.CurveID(g.ID) == pqtls.CNSA2Groups[0]
		}
	}
	for _, ch := range res.MLDSA.Chains {
		if ch.Scheme != "mldsa87" || len(ch.Certificates) == 0 {
			continue
		}
		c.CipherSuite = ch.CipherSuite
		c.AES256 = ch.CipherSuite == tls.CipherSuiteName(tls.TLS_AES_256_GCM_SHA384)
		c.MLDSA87Chain = ch.Certificates[0].PublicKeyAlgorithm == "ML-DSA-87" && !slices.ContainsFunc(ch.Certificates, func(ci CertInfo) bool { return ci.SignatureAlgorithm != "ML-DSA-87" })
	}
	if len(c.KeyExchange) == 0 {
		if only != nil && slices.ContainsFunc(pqtls.CNSA2Groups, func(id tls.CurveID) bool { return !slices.Contains(only, id) }) {
			c.Verdict, c.Lacks = CNSA2Unknown, []string{"the CNSA 2.0 groups (MLKEM1024, SecP384r1MLKEM1024) were not all enumerated"}
			return c
		}
		c.Lacks = append(c.Lacks, LackCNSA2KeyExchange)
	}
	if !c.MLDSA87Chain {
		c.Lacks = append(c.Lacks, LackCNSA2Chain)
	}
	switch {
	case len(c.Lacks) > 0:
		c.Verdict = CNSA2NotReady
	case pure:
		c.Verdict = CNSA2Ready
	default:
		c.Verdict = CNSA2Transitional
	}
	return c
}
