package canary

import (
	"crypto/tls"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/pqtls/pqtls"
)

// Verdict codes. Safe verdicts (exit 0): VerdictOK, VerdictHybridUnavailable
// (unless Options.RequireHybrid). Every other code means hybrid is not safe
// on this path yet (exit 1).
const (
	// VerdictOK: every critical hybrid case succeeded and the server
	// negotiated a hybrid group.
	VerdictOK = "ok"
	// VerdictHybridUnavailable: the hybrid ClientHellos went through, but the
	// server negotiated a classical group: the server is classical-only.
	VerdictHybridUnavailable = "hybrid_unavailable"
	// VerdictUnreachable: classical handshakes fail too; nothing can be said
	// about hybrid.
	VerdictUnreachable = "unreachable"
	// VerdictUnstable: classical and hybrid fail alike, intermittently.
	VerdictUnstable = "unstable_path"
	// VerdictLargeHelloDropped: hybrid ClientHellos time out, classical ones
	// succeed (MTU black hole, packet-size filter, fragments dropped).
	VerdictLargeHelloDropped = "large_hello_dropped"
	// VerdictSplitHelloReset: the connection is reset or closed when the
	// ClientHello spans two TCP segments (single-read bug).
	VerdictSplitHelloReset = "split_hello_reset"
	// VerdictLargeHelloReset: the connection is reset or closed on large
	// ClientHellos, even written at once.
	VerdictLargeHelloReset = "large_hello_reset"
	// VerdictRecordFragmentation: only the ClientHello split across TLS
	// records fails.
	VerdictRecordFragmentation = "record_fragmentation"
	// VerdictHybridAlert: hybrid ClientHellos get an alert, classical ones a
	// ServerHello.
	VerdictHybridAlert = "hybrid_alert"
	// VerdictHRRBroken: only the HelloRetryRequest path fails.
	VerdictHRRBroken = "hrr_broken"
	// VerdictHybridUnexpected: hybrid ClientHellos get an answer that is not
	// TLS or is malformed.
	VerdictHybridUnexpected = "hybrid_unexpected"
	// VerdictInterrupted: the run was cancelled (Ctrl-C) before the matrix
	// was complete; the cases show the attempts that finished, and no
	// conclusion is drawn from an incomplete matrix.
	VerdictInterrupted = "interrupted"
)

// Verdict is the plain-words conclusion of a run.
type Verdict struct {
	// Code is one of the Verdict* constants.
	Code string `json:"code"`
	// Safe: enabling hybrid on this path will not break handshakes (exit 0).
	Safe bool `json:"safe"`
	// Summary is one paragraph for a human.
	Summary string `json:"summary"`
	// Advice lists what to do next.
	Advice []string `json:"advice,omitempty"`
	// Warnings are findings that do not change the verdict (non-critical
	// cases failing, path details).
	Warnings []string `json:"warnings,omitempty"`
	// Cost is the measured cost of hybrid, when both full handshakes
	// succeeded.
	Cost *Cost `json:"hybrid_cost,omitempty"`
}

// Cost compares the full hybrid handshake with the classical one.
type Cost struct {
	ClassicalP50Ms float64 `json:"classical_p50_ms"`
	HybridP50Ms    float64 `json:"hybrid_p50_ms"`
	DeltaP50Ms     float64 `json:"delta_p50_ms"`
	DeltaP50Pct    float64 `json:"delta_p50_pct"`
	ClassicalP90Ms float64 `json:"classical_p90_ms"`
	HybridP90Ms    float64 `json:"hybrid_p90_ms"`
	// ClassicalBytes and HybridBytes are sent+received per handshake
	// (medians); ExtraBytes their difference.
	ClassicalBytes int `json:"classical_bytes"`
	HybridBytes    int `json:"hybrid_bytes"`
	ExtraBytes     int `json:"extra_bytes"`
	// HybridGroup is the group the hybrid handshake negotiated.
	HybridGroup string `json:"hybrid_group"`
}

func (r *Report) caseByName(name string) *CaseResult {
	for i := range r.Cases {
		if r.Cases[i].Name == name {
			return &r.Cases[i]
		}
	}
	return nil
}

const keepClassical = "keep this link classical for now (policy classical on the client or its sidecar) until it is fixed"

// decide turns the case results into a verdict.
func decide(r *Report, requireHybrid bool) Verdict {
	var v Verdict
	v.Warnings = pathWarnings(r)
	var base, hyb, extra []*CaseResult
	for i := range r.Cases {
		c := &r.Cases[i]
		switch {
		case !c.Hybrid:
			base = append(base, c)
		case c.Critical:
			hyb = append(hyb, c)
		default:
			extra = append(extra, c)
		}
	}
	baseOK, baseAtt, hybOK, hybAtt := 0, 0, 0, 0
	for _, c := range base {
		baseOK, baseAtt = baseOK+c.OK, baseAtt+judged(c)
	}
	for _, c := range hyb {
		hybOK, hybAtt = hybOK+c.OK, hybAtt+judged(c)
	}
	for _, c := range extra {
		if baseOK > 0 && c.OK < judged(c) {
			v.Warnings = append(v.Warnings, fmt.Sprintf("%s (%d-byte ClientHello) failed %d of %d times (%s): larger than today's hybrid ClientHellos, so it does not block X25519MLKEM768, but this path or server will not carry bigger ones",
				c.Name, c.HelloBytes, c.Attempts-c.OK, c.Attempts, classSummary(c.Classes)))
		}
	}
	certFailed := []string{}
	for i := range r.Cases {
		if c := &r.Cases[i]; c.Classes[ClassCertificate] > 0 {
			certFailed = append(certFailed, c.Name)
		}
	}
	if len(certFailed) > 0 {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%s failed certificate verification (see the errors with -v): check --ca and --server-name; those attempts say nothing about key exchange or the path and are left out of the verdict and the cost figures", strings.Join(certFailed, ", ")))
	}
	for _, c := range base {
		if c.OK == 0 && judged(c) > 0 && hybOK > 0 {
			v.Warnings = append(v.Warnings, fmt.Sprintf("classical case %s failed (%s) while hybrid ones succeeded: the server refuses classical key exchange (a require-mode server does that)", c.Name, classSummary(c.Classes)))
		}
	}

	switch {
	case baseAtt+hybAtt == 0:
		v.Code, v.Summary = VerdictUnreachable, "no attempt ran (interrupted)"
		v.Advice = []string{"rerun the canary and let it finish"}
		return v
	case baseOK == 0 && hybOK == 0:
		v.Code = VerdictUnreachable
		classes := map[string]int{}
		for _, c := range base {
			for k, n := range c.Classes {
				classes[k] += n
			}
		}
		v.Summary = fmt.Sprintf("even classical handshakes fail (%s): the canary cannot judge hybrid on a path that does not carry TLS at all", classSummary(classes))
		v.Advice = []string{
			"check the address and port, that a TLS server listens there, and whether it needs --starttls (postgres, smtp, imap, pop3)",
			"then rerun the canary",
		}
		if dominant(classes) == "alert" {
			v.Advice = append([]string{"the server answers even classical ClientHellos with an alert: it may require a client certificate before the handshake completes, or accept only groups, versions or names the canary does not offer (try --server-name)"}, v.Advice...)
		}
		if classes[ClassConnectFailed] > 0 {
			v.Advice = append([]string{"the TCP connection itself failed: is the server up, and does a firewall allow this client?"}, v.Advice...)
		}
		// A server that accepts only a group outside the main matrix (a
		// SecP384r1MLKEM1024-only server) fails every critical case but
		// answers the non-critical one that offers its group: say so
		// rather than leave "the path does not carry TLS".
		for _, c := range extra {
			if c.OK > 0 && pqtls.Kind(c.SelectedKind) == pqtls.KindHybrid {
				v.Summary += fmt.Sprintf("; but %s succeeded (%s negotiated, %d-byte ClientHello): the server accepts only that hybrid group, and this path carries ClientHellos of that size", c.Name, c.SelectedGroup, c.HelloBytes)
				v.Advice = append([]string{"clients must offer " + c.SelectedGroup + " to reach this server (Go >= 1.26 lists it by default; pqtls policies: add it to groups)"}, v.Advice...)
				break
			}
		}
		return v
	}

	failing := []*CaseResult{}
	for _, c := range hyb {
		if c.OK < judged(c) {
			failing = append(failing, c)
		}
	}
	if len(failing) == 0 {
		return decideWorking(r, v, requireHybrid)
	}

	// Hybrid failures. Are they specific to hybrid?
	baseFail := 1 - float64(baseOK)/float64(max(baseAtt, 1))
	hybFail := 1 - float64(hybOK)/float64(max(hybAtt, 1))
	if baseFail > 0 && baseFail >= hybFail*0.75 {
		v.Code = VerdictUnstable
		v.Summary = fmt.Sprintf("classical and hybrid handshakes both fail intermittently (classical %.0f %%, hybrid %.0f %% of attempts): the path or the server is unstable, and hybrid does not make it measurably worse", 100*baseFail, 100*hybFail)
		v.Advice = []string{"fix the path or the server first (see the failure classes per case), then rerun with a larger --count"}
		return v
	}

	names := make([]string, len(failing))
	classes := map[string]int{}
	for i, c := range failing {
		names[i] = c.Name
		for k, n := range c.Classes {
			if k != ClassOK {
				classes[k] += n
			}
		}
	}
	only := func(name string) bool { return len(failing) == 1 && failing[0].Name == name }
	partial := ""
	if hybOK > 0 && allPartial(failing) {
		partial = " intermittently"
	}
	failed := fmt.Sprintf("%s failed%s (%s)", strings.Join(names, ", "), partial, classSummary(classes))
	split, whole := r.caseByName(CaseHybridSplitTCP), r.caseByName(CaseHybrid)

	switch {
	case only(CaseHybridSplitRecord):
		v.Code = VerdictRecordFragmentation
		v.Summary = fmt.Sprintf("the ClientHello split across several TLS records fails while the same hello in one record works (%s): the server or an inspecting middlebox does not reassemble handshake messages across records, which RFC 8446 requires", failed)
		v.Advice = []string{"upgrade the server or the inspecting device; ClientHellos larger than 16 KB, and some TLS stacks, need record fragmentation", "Go, OpenSSL and browsers send a hybrid ClientHello in one record today, so the immediate risk is low; recheck after any upgrade"}
	case only(CaseHybridHRR):
		v.Code = VerdictHRRBroken
		v.Summary = fmt.Sprintf("the HelloRetryRequest path fails (%s) while hybrid ClientHellos with a hybrid key share work: a client that sends only a classical share (older configurations) cannot upgrade to hybrid on this path", failed)
		v.Advice = []string{"make sure clients send an X25519MLKEM768 key share up front (Go >= 1.24 and OpenSSL >= 3.5 do by default)", "report the HelloRetryRequest failure to the server or middlebox vendor"}
	case split != nil && resetLike(split.Classes) > 0 && (whole == nil || whole.OK == whole.Attempts || resetLike(whole.Classes) > 0) && dominant(classes) == "reset":
		v.Code = VerdictSplitHelloReset
		v.Summary = fmt.Sprintf("resets when the ClientHello spans two TCP segments (%s): a device on the path (SNI router, proxy, firewall) or the server reads the ClientHello with a single read() and gives up when it is incomplete (the tldr.fail bug)", failed)
		v.Advice = []string{"find the device: run the canary from just in front of each hop (proxy, load balancer, firewall) towards the server", "upgrade or reconfigure it to reassemble the ClientHello (larger receive buffer, ClientHello buffering)", keepClassical}
	case dominant(classes) == "timeout":
		v.Code = VerdictLargeHelloDropped
		v.Summary = fmt.Sprintf("hybrid ClientHellos time out while classical ones succeed (%s): something on the path drops large packets or fragments (MTU black hole or middlebox)", failed)
		v.Advice = []string{"fix the path: allow ICMP fragmentation-needed / packet-too-big, clamp the TCP MSS on the tunnel or link with the smaller MTU, or remove the packet-size filter", keepClassical}
		switch pm := r.Path.PMTU; {
		case pm != nil && pm.Status == PMTUStatusOK && pm.SmallestLost > 0:
			v.Advice = append([]string{fmt.Sprintf("the DF-bit probe found a path MTU of %d bytes (packets of %d bytes were lost%s)", pm.PathMTU, pm.SmallestLost, blackHoleText(pm))}, v.Advice...)
		case pm != nil && pm.Status == PMTUStatusOK:
			v.Advice = append([]string{fmt.Sprintf("the DF-bit ICMP probe got through at %d bytes: the drop is specific to TCP or to this port (a middlebox or firewall rule), not a plain MTU problem", pm.PathMTU)}, v.Advice...)
		default:
			v.Advice = append([]string{"run the canary as root (--pmtu on) for a DF-bit path-MTU probe, and compare the route MTU and TCP MSS below with the real path"}, v.Advice...)
		}
	case dominant(classes) == "reset":
		v.Code = VerdictLargeHelloReset
		v.Summary = fmt.Sprintf("the connection is reset or closed on hybrid ClientHellos while classical ones succeed (%s): a device on the path or the server rejects ClientHellos larger than one packet or one read", failed)
		v.Advice = []string{"find the device: run the canary from just in front of each hop towards the server", "upgrade or reconfigure it (ClientHello reassembly, larger buffers)", keepClassical}
	case dominant(classes) == "alert":
		v.Code = VerdictHybridAlert
		v.Summary = fmt.Sprintf("hybrid ClientHellos get an alert while classical ones succeed (%s): the server or an inspecting firewall rejects the hybrid ClientHello", failed)
		v.Advice = []string{"if the server is the one answering, upgrade its TLS stack (OpenSSL >= 3.5, Go >= 1.24, BoringSSL); a conforming classical-only server ignores unknown groups instead of failing", "if an inspecting firewall sits on the path, update it or exempt this traffic from TLS inspection", keepClassical}
	default:
		v.Code = VerdictHybridUnexpected
		v.Summary = fmt.Sprintf("hybrid ClientHellos get an unexpected answer while classical ones succeed (%s): something on the path rewrites or answers for the server", failed)
		v.Advice = []string{"look at the errors per case below, and capture the exchange with 'tcpdump -w' for a closer look", keepClassical}
	}
	return v
}

// decideWorking handles a run where every critical hybrid case succeeded.
func decideWorking(r *Report, v Verdict, requireHybrid bool) Verdict {
	v.Cost = cost(r)
	negotiated := ""
	for _, name := range []string{CaseFullHybrid, CaseHybrid, CaseHybridSplitTCP, CaseHybridSplitRecord, CaseHybridHRR} {
		if c := r.caseByName(name); c != nil && pqtls.Kind(c.SelectedKind) == pqtls.KindHybrid {
			negotiated = c.SelectedGroup
			break
		}
	}
	if negotiated == "" {
		v.Code = VerdictHybridUnavailable
		v.Safe = !requireHybrid
		sel := ""
		if c := r.caseByName(CaseHybrid); c != nil && c.SelectedGroup != "" {
			sel = c.SelectedGroup
		} else if c := r.caseByName(CaseFullHybrid); c != nil {
			sel = c.SelectedGroup
		}
		if c := r.caseByName(CaseFullHybrid); c != nil && c.OK > 0 && c.Version != "" && c.Version != pqtls.VersionName(tls.VersionTLS13) {
			sel += " over " + c.Version + " (hybrid key exchange needs TLS 1.3)"
		}
		v.Summary = fmt.Sprintf("hybrid not available on this server (or not preferred: a server that ranks classical groups first picks them too): offered X25519MLKEM768, it negotiated %s. The path carried the hybrid ClientHellos fine, so offering hybrid is safe; this link stays classical until the server supports it", orDash(sel))
		v.Advice = []string{"enable X25519MLKEM768 on the server (OpenSSL >= 3.5, Go >= 1.24, BoringSSL, or put 'pqtls tunnel' in front of it), then rerun the canary", "'pqtls scan " + r.Target + "' lists the groups the server accepts: verdict pq_capable means it supports hybrid but prefers a classical group, so change its group preference rather than its TLS stack"}
		if requireHybrid {
			v.Summary += " (--require-hybrid: failing)"
		}
		return v
	}
	v.Code, v.Safe = VerdictOK, true
	if v.Cost != nil {
		v.Summary = fmt.Sprintf("OK: hybrid works on this path (%s negotiated); it costs %+.2f ms p50 (%+.1f %%) and %d extra bytes per handshake", negotiated, v.Cost.DeltaP50Ms, v.Cost.DeltaP50Pct, v.Cost.ExtraBytes)
	} else {
		v.Summary = fmt.Sprintf("OK: hybrid works on this path (%s negotiated)", negotiated)
	}
	if c := r.caseByName(CaseHybridHRR); c != nil && c.HelloRetries > 0 {
		v.Warnings = append(v.Warnings, fmt.Sprintf("the server answers a classical-only key share with a HelloRetryRequest for hybrid: clients that do not send a hybrid share up front pay one extra round trip (%s p50 %.2f ms vs %s %.2f ms)",
			CaseHybridHRR, c.Latency.P50, CaseHybrid, latencyOf(r, CaseHybrid)))
	}
	v.Advice = []string{"enable hybrid (policy prefer) for this link; watch tls_handshake_errors_total and tls_handshake_group_total after the rollout"}
	return v
}

func latencyOf(r *Report, name string) float64 {
	if c := r.caseByName(name); c != nil {
		return c.Latency.P50
	}
	return 0
}

// cost compares the two full handshakes.
func cost(r *Report) *Cost {
	cl, hy := r.caseByName(CaseFullClassical), r.caseByName(CaseFullHybrid)
	if cl == nil || hy == nil || cl.OK == 0 || hy.OK == 0 {
		return nil
	}
	c := &Cost{ClassicalP50Ms: cl.Latency.P50, HybridP50Ms: hy.Latency.P50, ClassicalP90Ms: cl.Latency.P90, HybridP90Ms: hy.Latency.P90,
		ClassicalBytes: cl.BytesSent + cl.BytesReceived, HybridBytes: hy.BytesSent + hy.BytesReceived, HybridGroup: hy.SelectedGroup}
	c.DeltaP50Ms = round3(c.HybridP50Ms - c.ClassicalP50Ms)
	if c.ClassicalP50Ms > 0 {
		c.DeltaP50Pct = math.Round(1000*c.DeltaP50Ms/c.ClassicalP50Ms) / 10
	}
	c.ExtraBytes = c.HybridBytes - c.ClassicalBytes
	return c
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// pathWarnings flags path details worth knowing.
func pathWarnings(r *Report) []string {
	var w []string
	p := r.Path
	if c := r.caseByName(CaseHybrid); c != nil && p.MSS > 0 && c.HelloBytes > 0 {
		segs := (c.HelloBytes + 5 + p.MSS - 1) / p.MSS
		if p.MSS < 1200 {
			w = append(w, fmt.Sprintf("TCP MSS is %d bytes (clamped or small MTU): a %d-byte hybrid ClientHello takes %d segments", p.MSS, c.HelloBytes, segs))
		}
	}
	if p.RouteMTU > 0 && p.InterfaceMTU > 0 && p.RouteMTU < min(p.InterfaceMTU, 65535) {
		w = append(w, fmt.Sprintf("route MTU %d is below the interface MTU %d (a route MTU or an ICMP too-big lowered it)", p.RouteMTU, p.InterfaceMTU))
	}
	if pm := p.PMTU; pm != nil && pm.Status == PMTUStatusOK && pm.SmallestLost > 0 {
		w = append(w, fmt.Sprintf("DF-bit probe: path MTU %d bytes, %d-byte packets lost%s", pm.PathMTU, pm.SmallestLost, blackHoleText(pm)))
	}
	return w
}

func blackHoleText(pm *PMTUResult) string {
	if pm.BlackHole {
		return " with no ICMP fragmentation-needed in return: a PMTU black hole"
	}
	if pm.ICMPTooBig > 0 {
		return fmt.Sprintf("; an ICMP too-big announced MTU %d", pm.ICMPTooBig)
	}
	return ""
}

// judged is the number of attempts of c that count for the verdict: a
// full handshake that failed certificate verification (wrong --ca or
// --server-name) got through key exchange, so it tells nothing about the
// path or hybrid support.
func judged(c *CaseResult) int { return c.Attempts - c.Classes[ClassCertificate] }

// resetLike counts reset and eof attempts.
func resetLike(classes map[string]int) int { return classes[ClassReset] + classes[ClassEOF] }

// dominant names the most frequent failure family: timeout, reset (reset
// or eof), alert, or unexpected.
func dominant(classes map[string]int) string {
	fam := map[string]int{}
	for k, n := range classes {
		switch {
		case k == ClassTimeout:
			fam["timeout"] += n
		case k == ClassReset, k == ClassEOF:
			fam["reset"] += n
		case strings.HasPrefix(k, ClassAlertPrefix):
			fam["alert"] += n
		case k == ClassOK, k == ClassCertificate:
		default:
			fam["unexpected"] += n
		}
	}
	best, n := "", 0
	for _, k := range []string{"timeout", "reset", "alert", "unexpected"} {
		if fam[k] > n {
			best, n = k, fam[k]
		}
	}
	return best
}

func allPartial(cs []*CaseResult) bool {
	for _, c := range cs {
		if c.OK == 0 {
			return false
		}
	}
	return true
}

// classSummary formats failure classes: "timeout 5, reset 1".
func classSummary(classes map[string]int) string {
	keys := make([]string, 0, len(classes))
	for k := range classes {
		if k != ClassOK {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if classes[keys[i]] != classes[keys[j]] {
			return classes[keys[i]] > classes[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, classes[k])
	}
	if len(parts) == 0 {
		return "no failures"
	}
	return strings.Join(slices.Clip(parts), ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
