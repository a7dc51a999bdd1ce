package scan

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/wire"
)

// offerOrder is the order groups are offered in during the preference
// walk: what a modern client would list (hybrids, classical EC, pure ML-KEM,
// the rest), so that a server following the client's order still reveals a
// sensible ranking, flagged as group_order "client".
func offerOrder(only []tls.CurveID) []tls.CurveID {
	rank := func(g pqtls.Group) int {
		switch g.Kind {
		case pqtls.KindHybrid:
			return 0
		case pqtls.KindClassical:
			if g.Family == pqtls.FamilyFFDHE {
				return 3
			}
			return 1
		case pqtls.KindPQ:
			return 2
		}
		return 4
	}
	gs := pqtls.Groups()
	if only != nil {
		gs = slices.DeleteFunc(gs, func(g pqtls.Group) bool { return !slices.Contains(only, g.ID) })
	}
	slices.SortStableFunc(gs, func(a, b pqtls.Group) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		// X25519MLKEM768 first among hybrids, x25519 first among classical.
		pa, pb := a.ID == tls.X25519MLKEM768 || a.ID == tls.X25519, b.ID == tls.X25519MLKEM768 || b.ID == tls.X25519
		if pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		return int(a.ID) - int(b.ID)
	})
	out := make([]tls.CurveID, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

// exchange sends ch on a fresh connection and returns the result; conn is
// left open in the result for follow-up reads (caller closes).
type exchangeOut struct {
	res  *wire.ExchangeResult
	conn net.Conn
	err  error // dial/preamble error
}

func (p *prober) exchange(ctx context.Context, ch *wire.ClientHello) exchangeOut {
	conn, err := p.dial(ctx)
	if err != nil {
		return exchangeOut{err: err}
	}
	r, err := wire.Exchange(ctx, conn, ch, wire.ExchangeOptions{})
	if err != nil {
		conn.Close()
		return exchangeOut{err: err}
	}
	return exchangeOut{res: r, conn: conn}
}

func (p *prober) hello13(groups []tls.CurveID) *wire.ClientHello {
	ch := wire.NewClientHello13(p.wireSNI())
	ch.SupportedVersions = []uint16{wire.VersionTLS13}
	ch.CipherSuites = slices.Clone(wire.DefaultCipherSuites13)
	ch.SupportedGroups = slices.Clone(groups)
	ch.ALPN = p.alpn()
	return ch
}

func (p *prober) alpn() []string {
	if a := p.proto.ALPN(); a != nil {
		return a
	}
	return p.o.ALPN
}

// wireSNI returns the SNI for crafted hellos (IP literals are not allowed
// in server_name).
func (p *prober) wireSNI() string {
	if _, err := netip.ParseAddr(strings.Trim(p.sni, "[]")); err == nil {
		return ""
	}
	return p.sni
}

// probe13Result is the outcome of one probe13: the group the server
// selected with a valid HelloRetryRequest (0 if none), whether a second
// ClientHello with a key share for it (cookie echoed) got a matching
// ServerHello, or why the server declined or what it did wrong.
type probe13Result struct {
	selected  tls.CurveID
	hrr       bool
	confirmed bool
	// confirmAttempted: a second ClientHello was sent.
	confirmAttempted bool
	confErr          string
	declined         string // alert name or outcome when no group was selected
	anomaly          string // protocol violation (not counted)
	netErr           error
}

// probe13 offers groups in supported_groups with an empty key_share, TLS
// 1.3 only, on a fresh connection.
func (p *prober) probe13(ctx context.Context, groups []tls.CurveID) probe13Result {
	ch := p.hello13(groups)
	x := p.exchange(ctx, ch)
	if x.err != nil {
		return probe13Result{netErr: x.err}
	}
	defer x.conn.Close()
	r := x.res
	p.log.Debug("tls13 probe", "offered", len(groups), "outcome", r.Outcome, "selected", selectedOf(r), "err", r.Err)
	switch r.Outcome {
	case wire.OutcomeHelloRetryRequest:
		hrr := r.ServerHello
		if err := hrr.CheckAgainst(ch); err != nil || hrr.SelectedGroup == 0 {
			return probe13Result{anomaly: fmt.Sprintf("invalid HelloRetryRequest: %v", err)}
		}
		out := probe13Result{selected: hrr.SelectedGroup, hrr: true}
		// Second ClientHello on the same connection (a key share for the
		// selected group, the cookie echoed) when the server asked for a
		// cookie or when no full Go handshake can confirm the group later
		// (x448, pure ML-KEM, SM2, drafts). Go-supported groups are confirmed
		// end to end by confirmGoGroups instead, which saves a duplicate key
		// exchange; finite-field groups are skipped too (classical, and a
		// 3072-8192-bit exchange costs the server milliseconds per probe).
		info, _ := pqtls.LookupGroup(hrr.SelectedGroup)
		if (info.GoSupported || info.Family == pqtls.FamilyFFDHE) && len(hrr.Cookie) == 0 {
			return out
		}
		out.confirmAttempted = true
		ch2, err := ch.Retry(hrr)
		if err != nil {
			out.confErr = err.Error()
			return out
		}
		r2, err := wire.Exchange(ctx, x.conn, ch2, wire.ExchangeOptions{})
		switch {
		case err != nil:
			out.confErr = err.Error()
		case r2.Outcome == wire.OutcomeServerHello && !r2.ServerHello.IsHRR:
			if err := r2.ServerHello.CheckAgainst(ch2); err != nil {
				out.confErr = err.Error()
			} else if r2.ServerHello.SelectedGroup != hrr.SelectedGroup {
				out.confErr = "ServerHello for another group"
			} else if want, got := info.ServerShareSize, len(r2.ServerHello.KeyShare.Data); want > 0 && got != want {
				// A share of the wrong size cannot complete the key
				// exchange: a confused server, not support.
				out.confErr = fmt.Sprintf("ServerHello key share of %d bytes, want %d for %s", got, want, info.Name)
			} else {
				out.confirmed = true
			}
		case r2.Outcome == wire.OutcomeAlert:
			out.confErr = "alert " + r2.Alert.Description.String() + " after the second ClientHello"
		default:
			out.confErr = string(r2.Outcome) + " after the second ClientHello"
		}
		return out
	case wire.OutcomeServerHello:
		sh := r.ServerHello
		if sh.Version() != wire.VersionTLS13 {
			return probe13Result{declined: "answered " + wire.VersionName(sh.Version())}
		}
		return probe13Result{anomaly: "ServerHello without HelloRetryRequest although no key share was sent"}
	case wire.OutcomeAlert:
		return probe13Result{declined: "alert_" + r.Alert.Description.String()}
	default:
		return probe13Result{declined: string(r.Outcome), netErr: outcomeErr(r)}
	}
}

func selectedOf(r *wire.ExchangeResult) string {
	if r.ServerHello == nil || r.ServerHello.SelectedGroup == 0 {
		return ""
	}
	return pqtls.GroupName(r.ServerHello.SelectedGroup)
}

func outcomeErr(r *wire.ExchangeResult) error {
	if r.Outcome == wire.OutcomeTimeout || r.Outcome == wire.OutcomeReset || r.Outcome == wire.OutcomeNotTLS || r.Outcome == wire.OutcomeError {
		return r.Err
	}
	return nil
}

// enumerate runs the crafted-ClientHello probes and fills res.
func (p *prober) enumerate(ctx context.Context, res *Result) {
	p.walkGroups(ctx, res)
	p.confirmGoGroups(ctx, res)
	p.probeVersions(ctx, res)
	p.probeMLDSA(ctx, res)
}

// walkGroups finds the supported TLS 1.3 groups in server preference order:
// offer every remaining group with an empty key_share, record the group the
// HelloRetryRequest selects, remove it, repeat until the server declines.
// That costs (supported groups + 1) connections instead of one per registry
// group, and yields the preference order for free.
func (p *prober) walkGroups(ctx context.Context, res *Result) {
	remaining := offerOrder(p.o.Groups)
	found := map[tls.CurveID]bool{}
	add := func(r probe13Result, extra string) {
		g := GroupResult{Name: pqtls.GroupName(r.selected), ID: uint16(r.selected), Kind: string(pqtls.GroupKind(r.selected)), Rank: len(res.Groups) + 1, HelloRetry: r.hrr}
		if r.confirmAttempted {
			conf := r.confirmed
			g.Confirmed = &conf
		}
		g.ConfirmError = strings.TrimSpace(r.confErr + " " + extra)
		res.Groups = append(res.Groups, g)
		found[r.selected] = true
	}
	for len(remaining) > 0 && ctx.Err() == nil {
		r := p.probe13(ctx, remaining)
		if r.selected == 0 {
			// An alert or a clean close is the server declining: the walk is
			// complete. A timeout, reset or connect error leaves the rest of
			// the groups unknown: say so.
			switch {
			case r.anomaly != "":
				res.Notes = append(res.Notes, "TLS 1.3 probe: "+r.anomaly+" (not counted as support)")
			case r.netErr != nil:
				res.ProbeErrors = append(res.ProbeErrors, fmt.Sprintf("group walk after %d group(s): %v", len(res.Groups), r.netErr))
			}
			break
		}
		add(r, "")
		remaining = slices.DeleteFunc(remaining, func(g tls.CurveID) bool { return g == r.selected })
	}
	if len(res.Groups) > 0 {
		res.Versions = appendVersion(res.Versions, tls.VersionTLS13)
	}
	// Is the order the server's or ours? Offer the top two reversed.
	if len(res.Groups) >= 2 && ctx.Err() == nil {
		a, b := tls.CurveID(res.Groups[0].ID), tls.CurveID(res.Groups[1].ID)
		r := p.probe13(ctx, []tls.CurveID{b, a})
		switch r.selected {
		case a:
			res.GroupOrder = "server"
		case b:
			res.GroupOrder = "client"
		}
	}
	if p.o.Exhaustive {
		for _, id := range offerOrder(p.o.Groups) {
			if found[id] || ctx.Err() != nil {
				continue
			}
			if r := p.probe13(ctx, []tls.CurveID{id}); r.selected == id {
				add(r, "(found only when offered alone)")
				res.Notes = append(res.Notes, pqtls.GroupName(id)+" is accepted only when offered alone: the server's group selection is unusual")
			}
		}
	}
	for _, g := range res.Groups {
		res.ServerPreference = append(res.ServerPreference, g.Name)
	}
}

// confirmGoGroups runs a full Go handshake restricted to each supported
// group Go can negotiate (except the default client's group, already
// confirmed): a server may HRR to a group and then fail.
func (p *prober) confirmGoGroups(ctx context.Context, res *Result) {
	var def tls.CurveID
	if dc := res.DefaultClient; dc != nil && dc.Error == "" && dc.Version == "TLS 1.3" {
		def = tls.CurveID(dc.GroupID)
	}
	for i := range res.Groups {
		g := &res.Groups[i]
		info, _ := pqtls.LookupGroup(tls.CurveID(g.ID))
		if !info.GoSupported || ctx.Err() != nil {
			continue
		}
		if tls.CurveID(g.ID) == def {
			t := true
			g.Confirmed, g.ConfirmError = &t, ""
			continue
		}
		conn, err := p.dial(ctx)
		ok := false
		if err == nil {
			cfg := p.tlsConfig()
			cfg.MinVersion = tls.VersionTLS13
			cfg.CurvePreferences = []tls.CurveID{tls.CurveID(g.ID)}
			var cs tls.ConnectionState
			cs, _, err = p.handshake(ctx, conn, cfg)
			conn.Close()
			if err == nil && cs.CurveID != tls.CurveID(g.ID) {
				err = fmt.Errorf("negotiated %s instead", pqtls.GroupName(cs.CurveID))
			}
			ok = err == nil
			if ok && len(res.Certificates) == 0 {
				res.Certificates = certInfos(cs.PeerCertificates)
				p.verifyChain(res, cs.PeerCertificates)
			}
		}
		if err != nil && res.DefaultClient != nil && res.DefaultClient.Error != "" && ctx.Err() == nil {
			// Go cannot handshake with this server at all (an ML-DSA-only
			// server and a Go 1.26 client): confirm with a crafted hello
			// carrying a key share for the group instead.
			if cerr := p.confirmCrafted(ctx, tls.CurveID(g.ID)); cerr == nil {
				ok, err = true, nil
			}
		}
		g.Confirmed = &ok
		g.ConfirmError = ""
		if err != nil {
			g.ConfirmError = "full handshake failed: " + err.Error()
		}
	}
}

// confirmCrafted sends a TLS 1.3 hello with a key share for id only and
// wants a ServerHello selecting it, with a share of the registered size.
func (p *prober) confirmCrafted(ctx context.Context, id tls.CurveID) error {
	ch := p.hello13([]tls.CurveID{id})
	ks, err := wire.GenerateKeyShare(id)
	if err != nil {
		return err
	}
	ch.KeyShares = []wire.KeyShare{ks}
	x := p.exchange(ctx, ch)
	if x.err != nil {
		return x.err
	}
	defer x.conn.Close()
	sh := x.res.ServerHello
	info, _ := pqtls.LookupGroup(id)
	switch {
	case x.res.Outcome != wire.OutcomeServerHello || sh.IsHRR:
		return fmt.Errorf("%s to a hello with a %s key share", x.res.Outcome, info.Name)
	case sh.CheckAgainst(ch) != nil:
		return sh.CheckAgainst(ch)
	case sh.SelectedGroup != id || len(sh.KeyShare.Data) != info.ServerShareSize:
		return fmt.Errorf("ServerHello for %s with a %d-byte share", pqtls.GroupName(sh.SelectedGroup), len(sh.KeyShare.Data))
	}
	return nil
}

// tls12Suites offers ECDHE first, then RSA key exchange, CBC included so
// that TLS 1.0/1.1-only servers answer.
var tls12Suites = wire.DefaultCipherSuites12

func isECDHE(suite uint16) bool {
	return strings.Contains(tls.CipherSuiteName(suite), "_ECDHE_")
}

// classicalCurves are the groups TLS 1.2 ECDHE can use.
func classicalCurves(only []tls.CurveID) []tls.CurveID {
	var out []tls.CurveID
	for _, id := range offerOrder(only) {
		if g, _ := pqtls.LookupGroup(id); g.Kind == pqtls.KindClassical && g.Family != pqtls.FamilyFFDHE {
			out = append(out, id)
		}
	}
	return out
}

// probeVersions checks TLS 1.2 (walking its ECDHE curves), 1.1 and 1.0.
func (p *prober) probeVersions(ctx context.Context, res *Result) {
	curves := classicalCurves(nil)
	// TLS 1.2: first hello offers every suite; the walk continues ECDHE-only.
	first := true
	for len(curves) > 0 && ctx.Err() == nil {
		ch := wire.NewClientHello12(p.wireSNI())
		ch.SupportedGroups = slices.Clone(curves)
		ch.ALPN = p.alpn()
		if !first {
			ch.CipherSuites = slices.DeleteFunc(slices.Clone(tls12Suites), func(s uint16) bool { return !isECDHE(s) })
		}
		curve, version, suite, err := p.probe12(ctx, ch)
		if version == tls.VersionTLS12 {
			res.Versions = appendVersion(res.Versions, version)
		}
		p.log.Debug("tls12 probe", "curve", curve, "version", version, "suite", suite, "err", err)
		if err != nil || version != tls.VersionTLS12 {
			if err != nil && first && res.DefaultClient != nil && res.DefaultClient.Error == "" && res.DefaultClient.Version == "TLS 1.2" {
				res.ProbeErrors = append(res.ProbeErrors, "TLS 1.2 probe: "+err.Error())
			}
			break
		}
		if !isECDHE(suite) {
			if first {
				res.Notes = append(res.Notes, "TLS 1.2 prefers RSA key exchange ("+tls.CipherSuiteName(suite)+"): no forward secrecy")
				first = false
				continue
			}
			break
		}
		first = false
		if curve == 0 {
			break
		}
		res.TLS12Curves = append(res.TLS12Curves, pqtls.GroupName(curve))
		curves = slices.DeleteFunc(curves, func(c tls.CurveID) bool { return c == curve })
	}
	// RFC 8422: ECDSA suites need the certificate's curve in the client's
	// list, so the walk cannot see past it.
	if n := len(res.TLS12Curves); n > 0 && len(curves) > 0 && len(res.Certificates) > 0 {
		if g, err := pqtls.ParseGroup(strings.TrimPrefix(res.Certificates[0].KeyType, "ECDSA ")); err == nil && g.Name == res.TLS12Curves[n-1] {
			res.Notes = append(res.Notes, "TLS 1.2 curves are listed down to the ECDSA certificate's curve ("+g.Name+"); curves the server ranks lower cannot be probed in TLS 1.2")
		}
	}
	// TLS 1.1 and 1.0: one hello with legacy_version 1.1 offers both; the
	// server answers with the highest it accepts. Only when that is 1.1 does
	// 1.0 need its own probe (most servers refuse both: one connection).
	for _, v := range []uint16{tls.VersionTLS11, tls.VersionTLS10} {
		if ctx.Err() != nil {
			return
		}
		ch := wire.NewClientHello12(p.wireSNI())
		ch.LegacyVersion = v
		ch.SupportedGroups = classicalCurves(nil)
		ch.SignatureAlgorithms = nil
		_, version, _, _ := p.probe12(ctx, ch)
		if version == tls.VersionTLS10 || version == tls.VersionTLS11 {
			res.Versions = appendVersion(res.Versions, version)
		}
		if version != tls.VersionTLS11 {
			return
		}
	}
}

// probe12 sends a TLS 1.0-1.2 hello and returns the ECDHE curve of the
// ServerKeyExchange (0 when not ECDHE), the negotiated version and suite.
func (p *prober) probe12(ctx context.Context, ch *wire.ClientHello) (tls.CurveID, uint16, uint16, error) {
	x := p.exchange(ctx, ch)
	if x.err != nil {
		return 0, 0, 0, x.err
	}
	defer x.conn.Close()
	r := x.res
	switch r.Outcome {
	case wire.OutcomeServerHello:
	case wire.OutcomeAlert:
		return 0, 0, 0, fmt.Errorf("alert %s", r.Alert.Description)
	default:
		return 0, 0, 0, fmt.Errorf("%s: %v", r.Outcome, r.Err)
	}
	sh := r.ServerHello
	if err := sh.CheckAgainst(ch); err != nil {
		return 0, 0, 0, err
	}
	v := sh.Version()
	if v != ch.LegacyVersion || !isECDHE(sh.CipherSuite) {
		return 0, v, sh.CipherSuite, nil
	}
	for i := 0; i < 8; i++ {
		m, err := r.Reader.ReadMessage()
		if err != nil {
			return 0, v, sh.CipherSuite, fmt.Errorf("reading ServerKeyExchange: %w", err)
		}
		if m.ContentType != wire.ContentHandshake {
			return 0, v, sh.CipherSuite, fmt.Errorf("unexpected %s record", m.ContentType)
		}
		switch m.HandshakeType {
		case wire.TypeServerKeyExchange:
			ske, err := wire.ParseServerKeyExchangeECDHE(m.Data, v)
			if err != nil {
				return 0, v, sh.CipherSuite, err
			}
			if !slices.Contains(ch.SupportedGroups, ske.Curve) {
				return 0, v, sh.CipherSuite, fmt.Errorf("ServerKeyExchange uses curve %s we did not offer", pqtls.GroupName(ske.Curve))
			}
			return ske.Curve, v, sh.CipherSuite, nil
		case wire.TypeServerHelloDone:
			return 0, v, sh.CipherSuite, fmt.Errorf("no ServerKeyExchange")
		}
	}
	return 0, v, sh.CipherSuite, fmt.Errorf("no ServerKeyExchange in the first flight")
}

// decide sets the verdict, reason and notes of an assessed endpoint.
func decide(res *Result, enumerated bool) {
	has := func(v string) bool { return slices.Contains(res.Versions, v) }
	dc := res.DefaultClient
	defaultPQ := dc != nil && dc.Error == "" && (dc.GroupKind == string(pqtls.KindHybrid) || dc.GroupKind == string(pqtls.KindPQ))
	var pq, drafts, broken []string
	for _, g := range res.Groups {
		switch pqtls.Kind(g.Kind) {
		case pqtls.KindHybrid, pqtls.KindPQ:
			// A HelloRetryRequest alone is not support: a group whose
			// confirming handshake failed does not make the endpoint
			// pq_capable.
			if g.Broken() {
				broken = append(broken, g.Name)
				continue
			}
			pq = append(pq, g.Name)
		case pqtls.KindDraft:
			drafts = append(drafts, g.Name)
		}
	}
	if len(broken) > 0 {
		res.Notes = append(res.Notes, "the server selects "+strings.Join(broken, ", ")+" in a HelloRetryRequest but a handshake with it fails: broken, not counted as post-quantum support (see confirm_error)")
	}
	if len(drafts) > 0 {
		res.Notes = append(res.Notes, "obsolete pre-standard Kyber draft group(s) accepted: "+strings.Join(drafts, ", ")+"; remove them (never counted as post-quantum ready)")
	}
	switch {
	case defaultPQ:
		res.Verdict = VerdictPQReady
		res.Reason = "default client negotiates " + dc.Group
		if dc.HelloRetry {
			res.Notes = append(res.Notes, "the default client needed a HelloRetryRequest (one extra round trip)")
		}
		if enumerated && tls.CurveID(dc.GroupID) != tls.X25519MLKEM768 && !res.HasGroup(tls.X25519MLKEM768) {
			res.Notes = append(res.Notes, "X25519MLKEM768 is not accepted: ready for Go's default client ("+dc.Group+"), but clients whose only hybrid is X25519MLKEM768 (browsers, OpenSSL 3.5 defaults) will not get a hybrid group; enable X25519MLKEM768 too")
		}
	case len(pq) > 0:
		res.Verdict = VerdictPQCapable
		if dc != nil && dc.Error == "" {
			res.Reason = "supports " + strings.Join(pq, ", ") + " but a default client gets " + dc.Group
		} else {
			res.Reason = "supports " + strings.Join(pq, ", ") + " but a default client cannot connect"
		}
	case has("TLS 1.3"):
		res.Verdict = VerdictClassical
		res.Reason = "TLS 1.3 with classical groups only"
		if !enumerated {
			res.Reason = "default client negotiates " + dc.Group + " (enumeration off)"
		}
	case has("TLS 1.2") || has("TLS 1.1") || has("TLS 1.0"):
		res.Verdict = VerdictTLS12Only
		res.Reason = "no TLS 1.3: hybrid key exchange impossible"
	default:
		res.Verdict = VerdictNoTLS
		res.Reason = "no TLS version accepted"
		if dc != nil && dc.Error != "" {
			res.Reason += " (default client: " + dc.Error + ")"
		}
	}
	if has("TLS 1.0") || has("TLS 1.1") {
		res.Notes = append(res.Notes, "legacy TLS 1.0/1.1 accepted: disable them")
	}
	if len(res.Certificates) > 0 {
		leaf := res.Certificates[0]
		switch left := time.Until(leaf.NotAfter); {
		case left < 0:
			res.Notes = append(res.Notes, "the leaf certificate expired on "+leaf.NotAfter.Format(time.DateOnly))
		case left < 24*time.Hour:
			res.Notes = append(res.Notes, "the leaf certificate expires in less than a day ("+leaf.NotAfter.UTC().Format(time.RFC3339)+")")
		case left < 30*24*time.Hour:
			res.Notes = append(res.Notes, fmt.Sprintf("the leaf certificate expires in %d day(s) (%s)", int(left.Hours()/24), leaf.NotAfter.Format(time.DateOnly)))
		}
		res.Notes = append(res.Notes, signatureNote(res))
	} else if dc != nil && dc.Error != "" && res.MLDSA != nil && res.MLDSA.Capable != nil && *res.MLDSA.Capable && len(res.MLDSA.Chains) > 0 {
		res.Notes = append(res.Notes, NoteMLDSAOnly)
	}
	slices.SortStableFunc(res.Versions, func(a, b string) int { return strings.Compare(b, a) })
}

// signatureNote says whether authentication is post-quantum: the default
// client's leaf, and the ML-DSA certificates a client offering ML-DSA gets.
func signatureNote(res *Result) string {
	leaf := res.Certificates[0]
	var schemes []string
	if res.MLDSA != nil {
		for _, c := range res.MLDSA.Chains {
			schemes = append(schemes, c.Scheme)
		}
	}
	switch {
	case leaf.PostQuantumSignature:
		return "the default client's certificate is signed with " + leaf.SignatureAlgorithm + ": post-quantum authentication"
	case len(schemes) > 0:
		return "the default client gets a classical certificate (" + leaf.SignatureAlgorithm + "); clients that offer ML-DSA get an ML-DSA certificate (" + strings.Join(schemes, ", ") + ")"
	}
	return "certificate signatures are classical (" + leaf.SignatureAlgorithm + "): authentication is not yet post-quantum, which matters less than key exchange for harvest-now-decrypt-later"
}

// NoteMLDSAOnly is the note of a server the default client cannot reach
// while clients offering ML-DSA can: a binary built with Go 1.26, whose
// crypto/tls offers no ML-DSA, against a server whose only certificates
// are ML-DSA. ml_dsa_auth.chains has its chain.
const NoteMLDSAOnly = "the default client cannot connect but a client offering ML-DSA can: the server has only ML-DSA certificates (see ml_dsa_auth), which this pqtls build's crypto/tls does not support (Go < 1.27); Go 1.27 and OpenSSL 3.5 clients connect"
