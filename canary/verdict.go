package canary

import (
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/starttls"
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
	// Samples is the number of successful handshakes behind the smaller of
	// the two medians; below CostMinSamples the summary adds a caution.
	Samples int `json:"samples"`
}

// CostMinSamples is the fewest successful full handshakes per side for a
// cost figure given without a caution.
const CostMinSamples = 10

func (r *Report) caseByName(name string) *CaseResult {
	for i := range r.Cases {
		if r.Cases[i].Name == name {
			return &r.Cases[i]
		}
	}
	return nil
}

const keepClassical = "keep this link classical for now (policy classical on the client or its sidecar) until it is fixed"

// Evidence is what the verdict rules read: the report and the case results
// sorted into classical baselines, critical hybrid cases and the larger,
// non-critical ones.
type Evidence struct {
	Report *Report
	// RequireHybrid is Options.RequireHybrid.
	RequireHybrid bool
	// Interrupted: the run was cancelled before the matrix was complete;
	// Done of Total attempts finished.
	Interrupted bool
	Done, Total int
	// ResolveErr: the target's host name did not resolve; nothing ran.
	ResolveErr error
	// StoppedEarly: the first classical baseline attempt failed without a
	// TLS answer, so the run stopped there.
	StoppedEarly bool
	// Base are the classical baselines, Hybrid the critical hybrid cases,
	// Extra the non-critical ones.
	Base, Hybrid, Extra []*CaseResult
	// BaseOK and HybridOK count successful attempts; BaseJudged and
	// HybridJudged the attempts that count (see judged).
	BaseOK, BaseJudged, HybridOK, HybridJudged int
	// BaseClasses are the failure classes of the baselines.
	BaseClasses map[string]int
	// Failing are the critical hybrid cases with a failed attempt, and
	// FailClasses their failure classes.
	Failing     []*CaseResult
	FailClasses map[string]int
	// Negotiated is the hybrid group a critical hybrid case negotiated ("":
	// none did).
	Negotiated string
	// Cost compares the full handshakes (nil when one never succeeded).
	Cost *Cost
}

// VerdictRule is one row of Verdicts: the first row whose Match is true
// decides the verdict.
type VerdictRule struct {
	// Code is one of the Verdict* constants.
	Code string
	// Match reports whether the row applies.
	Match func(e *Evidence) bool
	// Safe reports whether hybrid is safe on the path (exit 0); nil: never.
	Safe func(e *Evidence) bool
	// Summary is the paragraph for a human; Advice what to do next.
	Summary func(e *Evidence) string
	Advice  func(e *Evidence) []string
	// WithCost: the verdict carries the hybrid cost.
	WithCost bool
}

// Verdicts is the ordered verdict table: every verdict code, in precedence
// order (docs/CANARY.md "Verdicts and exit status").
var Verdicts = []VerdictRule{
	{Code: VerdictInterrupted, Match: func(e *Evidence) bool { return e.Interrupted },
		Summary: func(e *Evidence) string {
			return fmt.Sprintf("interrupted after %d of %d attempts: the matrix is incomplete, so no verdict is drawn (the cases above show the attempts that finished)", e.Done, e.Total)
		},
		Advice: fixed("rerun the canary and let it finish (lower --count or --timeout for a shorter run)")},
	{Code: VerdictUnreachable, Match: func(e *Evidence) bool { return e.ResolveErr != nil || e.BaseOK == 0 && e.HybridOK == 0 },
		Summary: unreachableSummary, Advice: unreachableAdvice},
	{Code: VerdictHybridUnavailable, Match: func(e *Evidence) bool { return len(e.Failing) == 0 && e.Negotiated == "" },
		Safe: func(e *Evidence) bool { return !e.RequireHybrid }, Summary: unavailableSummary, WithCost: true,
		Advice: func(e *Evidence) []string {
			return []string{"enable X25519MLKEM768 on the server (OpenSSL >= 3.5, Go >= 1.24, BoringSSL, or put 'pqtls tunnel' in front of it), then rerun the canary",
				"'pqtls scan " + scanTarget(e.Report) + "' lists the groups the server accepts: verdict pq_capable means it supports hybrid but prefers a classical group, so change its group preference rather than its TLS stack"}
		}},
	{Code: VerdictOK, Match: func(e *Evidence) bool { return len(e.Failing) == 0 },
		Safe: func(*Evidence) bool { return true }, Summary: okSummary, WithCost: true,
		Advice: fixed("enable hybrid (policy prefer) for this link; watch tls_handshake_errors_total and tls_handshake_group_total after the rollout")},
	{Code: VerdictUnstable, Match: func(e *Evidence) bool {
		baseFail, hybFail := e.failRates()
		return baseFail > 0 && baseFail >= hybFail*0.75
	},
		Summary: func(e *Evidence) string {
			baseFail, hybFail := e.failRates()
			return fmt.Sprintf("classical and hybrid handshakes both fail intermittently (classical %.0f %%, hybrid %.0f %% of attempts): the path or the server is unstable, and hybrid does not make it measurably worse", 100*baseFail, 100*hybFail)
		},
		Advice: fixed("fix the path or the server first (see the failure classes per case), then rerun with a larger --count")},
	{Code: VerdictRecordFragmentation, Match: func(e *Evidence) bool { return e.onlyFailing(CaseHybridSplitRecord) },
		Summary: failedSummary("the ClientHello split across several TLS records fails while the same hello in one record works (%s): the server or an inspecting middlebox does not reassemble handshake messages across records, which RFC 8446 requires"),
		Advice:  fixed("upgrade the server or the inspecting device; ClientHellos larger than 16 KB, and some TLS stacks, need record fragmentation", "Go, OpenSSL and browsers send a hybrid ClientHello in one record today, so the immediate risk is low; recheck after any upgrade")},
	{Code: VerdictHRRBroken, Match: func(e *Evidence) bool { return e.onlyFailing(CaseHybridHRR) },
		Summary: failedSummary("the HelloRetryRequest path fails (%s) while hybrid ClientHellos with a hybrid key share work: a client that sends only a classical share (older configurations) cannot upgrade to hybrid on this path"),
		Advice:  fixed("make sure clients send an X25519MLKEM768 key share up front (Go >= 1.24 and OpenSSL >= 3.5 do by default)", "report the HelloRetryRequest failure to the server or middlebox vendor")},
	{Code: VerdictSplitHelloReset, Match: func(e *Evidence) bool {
		split, whole := e.Report.caseByName(CaseHybridSplitTCP), e.Report.caseByName(CaseHybrid)
		return split != nil && resetLike(split.Classes) > 0 && (whole == nil || whole.OK == whole.Attempts || resetLike(whole.Classes) > 0) && dominant(e.FailClasses) == "reset"
	},
		Summary: failedSummary("resets when the ClientHello spans two TCP segments (%s): a device on the path (SNI router, proxy, firewall) or the server reads the ClientHello with a single read() and gives up when it is incomplete (the tldr.fail bug)"),
		Advice:  fixed("find the device: run the canary from just in front of each hop (proxy, load balancer, firewall) towards the server", "upgrade or reconfigure it to reassemble the ClientHello (larger receive buffer, ClientHello buffering)", keepClassical)},
	{Code: VerdictLargeHelloDropped, Match: func(e *Evidence) bool { return dominant(e.FailClasses) == "timeout" },
		Summary: failedSummary("hybrid ClientHellos time out while classical ones succeed (%s): something on the path drops large packets or fragments (MTU black hole or middlebox)"),
		Advice:  droppedAdvice},
	{Code: VerdictLargeHelloReset, Match: func(e *Evidence) bool { return dominant(e.FailClasses) == "reset" },
		Summary: failedSummary("the connection is reset or closed on hybrid ClientHellos while classical ones succeed (%s): a device on the path or the server rejects ClientHellos larger than one packet or one read"),
		Advice:  fixed("find the device: run the canary from just in front of each hop towards the server", "upgrade or reconfigure it (ClientHello reassembly, larger buffers)", keepClassical)},
	{Code: VerdictHybridAlert, Match: func(e *Evidence) bool { return dominant(e.FailClasses) == "alert" },
		Summary: failedSummary("hybrid ClientHellos get an alert while classical ones succeed (%s): the server or an inspecting firewall rejects the hybrid ClientHello"),
		Advice:  fixed("if the server is the one answering, upgrade its TLS stack (OpenSSL >= 3.5, Go >= 1.24, BoringSSL); a conforming classical-only server ignores unknown groups instead of failing", "if an inspecting firewall sits on the path, update it or exempt this traffic from TLS inspection", keepClassical)},
	{Code: VerdictHybridUnexpected, Match: func(*Evidence) bool { return true },
		Summary: failedSummary("hybrid ClientHellos get an unexpected answer while classical ones succeed (%s): something on the path rewrites or answers for the server"),
		Advice:  fixed("look at the errors per case above (-v), and capture the exchange with 'tcpdump -w' for a closer look", keepClassical)},
}

func fixed(advice ...string) func(*Evidence) []string {
	return func(*Evidence) []string { return slices.Clone(advice) }
}

// failedSummary is a Summary that formats the failing cases and their
// classes (Evidence.failed) into format's one %s.
func failedSummary(format string) func(*Evidence) string {
	return func(e *Evidence) string { return fmt.Sprintf(format, e.failed()) }
}

// decide turns the case results into a verdict: the first matching row of
// Verdicts, plus the warnings.
func decide(r *Report, requireHybrid bool) Verdict {
	return decideEvidence(gather(r, requireHybrid))
}

func decideEvidence(e *Evidence) Verdict {
	v := Verdict{Warnings: warnings(e)}
	// The last row is the catch-all (TestDecide checks that it matches
	// everything), so it applies when no earlier row does.
	row := Verdicts[len(Verdicts)-1]
	for _, r := range Verdicts[:len(Verdicts)-1] {
		if r.Match(e) {
			row = r
			break
		}
	}
	v.Code, v.Summary, v.Advice = row.Code, row.Summary(e), row.Advice(e)
	v.Safe = row.Safe != nil && row.Safe(e)
	if row.WithCost {
		v.Cost = e.Cost
	}
	return v
}

// gather sorts the case results of r into Evidence.
func gather(r *Report, requireHybrid bool) *Evidence {
	e := &Evidence{Report: r, RequireHybrid: requireHybrid, BaseClasses: map[string]int{}, FailClasses: map[string]int{}}
	for i := range r.Cases {
		c := &r.Cases[i]
		switch {
		case !c.Hybrid:
			e.Base = append(e.Base, c)
			e.BaseOK, e.BaseJudged = e.BaseOK+c.OK, e.BaseJudged+judged(c)
			for k, n := range c.Classes {
				e.BaseClasses[k] += n
			}
		case c.Critical:
			e.Hybrid = append(e.Hybrid, c)
			e.HybridOK, e.HybridJudged = e.HybridOK+c.OK, e.HybridJudged+judged(c)
			if c.OK < judged(c) {
				e.Failing = append(e.Failing, c)
				for k, n := range c.Classes {
					if k != ClassOK {
						e.FailClasses[k] += n
					}
				}
			}
		default:
			e.Extra = append(e.Extra, c)
		}
	}
	for _, name := range []string{CaseFullHybrid, CaseHybrid, CaseHybridSplitTCP, CaseHybridSplitRecord, CaseHybridHRR} {
		if c := r.caseByName(name); c != nil && pqtls.Kind(c.SelectedKind) == pqtls.KindHybrid {
			e.Negotiated = c.SelectedGroup
			break
		}
	}
	e.Cost = cost(r)
	return e
}

func (e *Evidence) failRates() (base, hybrid float64) {
	return 1 - float64(e.BaseOK)/float64(max(e.BaseJudged, 1)), 1 - float64(e.HybridOK)/float64(max(e.HybridJudged, 1))
}

func (e *Evidence) onlyFailing(name string) bool {
	return len(e.Failing) == 1 && e.Failing[0].Name == name
}

// failed names the failing critical hybrid cases and their classes.
func (e *Evidence) failed() string {
	names := make([]string, len(e.Failing))
	for i, c := range e.Failing {
		names[i] = c.Name
	}
	partial := ""
	if e.HybridOK > 0 && allPartial(e.Failing) {
		partial = " intermittently"
	}
	return fmt.Sprintf("%s failed%s (%s)", strings.Join(names, ", "), partial, classSummary(e.FailClasses))
}

func unreachableSummary(e *Evidence) string {
	if e.ResolveErr != nil {
		return fmt.Sprintf("cannot resolve the target: %v; no attempt was made", e.ResolveErr)
	}
	if e.BaseJudged+e.HybridJudged == 0 {
		return "no attempt ran (interrupted)"
	}
	s := fmt.Sprintf("even classical handshakes fail (%s", classSummary(e.BaseClasses))
	if err := firstError(e.Base); err != "" {
		s += ": " + err
	}
	s += "): the canary cannot judge hybrid where not even a classical handshake works"
	if e.StoppedEarly {
		s += "; it stopped after the first classical attempt instead of running the whole matrix"
	}
	// A server that accepts only a group outside the main matrix (a
	// SecP384r1MLKEM1024-only server) fails every critical case but answers
	// the non-critical one that offers its group: say so rather than leave
	// "the path does not carry TLS".
	if c := e.singleGroupCase(); c != nil {
		s += fmt.Sprintf("; but %s succeeded (%s negotiated, %d-byte ClientHello): the server accepts only that hybrid group, and this path carries ClientHellos of that size", c.Name, c.SelectedGroup, c.HelloBytes)
	}
	return s
}

func unreachableAdvice(e *Evidence) []string {
	if e.ResolveErr != nil {
		return []string{"check the host name (a typo?) and that this machine's resolver knows it ('getent hosts NAME'), then rerun the canary"}
	}
	if e.BaseJudged+e.HybridJudged == 0 {
		return []string{"rerun the canary and let it finish"}
	}
	check := "check the address and port, that a TLS server listens there, and whether it needs --starttls (" + strings.Join(StartTLSProtocols, ", ") + ")"
	if p := e.Report.StartTLS; p != "" {
		check = "check the address and port, and that the server offers TLS after the " + p + " preamble (the summary says what it answered)"
	}
	advice := []string{check, "then rerun the canary"}
	if dominant(e.BaseClasses) == "alert" {
		advice = append([]string{"the server answers even classical ClientHellos with an alert: it may require a client certificate before the handshake completes, or accept only groups, versions or names the canary does not offer (try --server-name)"}, advice...)
	}
	if e.BaseClasses[ClassConnectFailed] > 0 {
		advice = append([]string{"the TCP connection itself failed: is the server up, and does a firewall allow this client?"}, advice...)
	}
	if c := e.singleGroupCase(); c != nil {
		advice = append([]string{"clients must offer " + c.SelectedGroup + " to reach this server (Go >= 1.26 lists it by default; pqtls policies: add it to groups)"}, advice...)
	}
	return advice
}

// singleGroupCase returns the non-critical case that negotiated a hybrid
// group, if any.
func (e *Evidence) singleGroupCase() *CaseResult {
	for _, c := range e.Extra {
		if c.OK > 0 && pqtls.Kind(c.SelectedKind) == pqtls.KindHybrid {
			return c
		}
	}
	return nil
}

func unavailableSummary(e *Evidence) string {
	r := e.Report
	sel := ""
	if c := r.caseByName(CaseHybrid); c != nil && c.SelectedGroup != "" {
		sel = c.SelectedGroup
	} else if c := r.caseByName(CaseFullHybrid); c != nil {
		sel = c.SelectedGroup
	}
	if c := r.caseByName(CaseFullHybrid); c != nil && c.OK > 0 && c.Version != "" && c.Version != pqtls.VersionName(tls.VersionTLS13) {
		sel += " over " + c.Version + " (hybrid key exchange needs TLS 1.3)"
	}
	s := fmt.Sprintf("hybrid not available on this server (or not preferred: a server that ranks classical groups first picks them too): offered X25519MLKEM768, it negotiated %s. The path carried the hybrid ClientHellos fine, so offering hybrid is safe; this link stays classical until the server supports it", orDash(sel))
	if e.RequireHybrid {
		s += " (--require-hybrid: failing)"
	}
	return s
}

func okSummary(e *Evidence) string {
	c := e.Cost
	if c == nil {
		return fmt.Sprintf("OK: hybrid works on this path (%s negotiated)", e.Negotiated)
	}
	s := fmt.Sprintf("OK: hybrid works on this path (%s negotiated); it costs %+.2f ms p50 (%+.1f %%) and %d extra bytes per handshake", e.Negotiated, c.DeltaP50Ms, c.DeltaP50Pct, c.ExtraBytes)
	if c.Samples < CostMinSamples {
		s += fmt.Sprintf(" (caution: from only %d handshake%s each, a rough figure; rerun with --count 20 for a stable one)", c.Samples, plural(c.Samples))
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// firstError is the first error recorded by the cases cs.
func firstError(cs []*CaseResult) string {
	for _, c := range cs {
		if len(c.Errors) > 0 {
			return c.Errors[0]
		}
	}
	return ""
}

func droppedAdvice(e *Evidence) []string {
	advice := []string{"fix the path: allow ICMP fragmentation-needed / packet-too-big, clamp the TCP MSS on the tunnel or link with the smaller MTU, or remove the packet-size filter", keepClassical}
	switch pm := e.Report.Path.PMTU; {
	case pm != nil && pm.Status == PMTUStatusOK && pm.SmallestLost > 0:
		return append([]string{fmt.Sprintf("the DF-bit probe found a path MTU of %d bytes (packets of %d bytes were lost%s)", pm.PathMTU, pm.SmallestLost, blackHoleText(pm))}, advice...)
	case pm != nil && pm.Status == PMTUStatusOK:
		return append([]string{fmt.Sprintf("the DF-bit ICMP probe got through at %d bytes: the drop is specific to TCP or to this port (a middlebox or firewall rule), not a plain MTU problem", pm.PathMTU)}, advice...)
	default:
		return append([]string{"run the canary as root (--pmtu on) for a DF-bit path-MTU probe, and compare the route MTU and TCP MSS above with the real path"}, advice...)
	}
}

// scanTarget is the target as 'pqtls scan' takes it: with a protocol
// scheme when a STARTTLS preamble runs on a port scan would not guess it
// from (PostgreSQL on 27432: postgres://HOST:27432).
func scanTarget(r *Report) string {
	if r.StartTLS == "" {
		return r.Target
	}
	_, port, _ := net.SplitHostPort(r.Target)
	if n, err := strconv.Atoi(port); err == nil && starttls.Auto.Resolve(n) == starttls.Protocol(r.StartTLS) {
		return r.Target
	}
	return r.StartTLS + "://" + r.Target
}

// warnings are the findings that do not change the verdict.
func warnings(e *Evidence) []string {
	r := e.Report
	w := pathWarnings(r)
	for _, c := range e.Extra {
		if e.BaseOK > 0 && c.OK < judged(c) {
			w = append(w, fmt.Sprintf("%s (%d-byte ClientHello) failed %d of %d times (%s): larger than today's hybrid ClientHellos, so it does not block X25519MLKEM768, but this path or server will not carry bigger ones",
				c.Name, c.HelloBytes, c.Attempts-c.OK, c.Attempts, classSummary(c.Classes)))
		}
	}
	var certFailed []string
	for i := range r.Cases {
		if c := &r.Cases[i]; c.Classes[ClassCertificate] > 0 {
			certFailed = append(certFailed, c.Name)
		}
	}
	if len(certFailed) > 0 {
		w = append(w, fmt.Sprintf("%s failed certificate verification (see the errors with -v): check --ca and --server-name; those attempts say nothing about key exchange or the path and are left out of the verdict and the cost figures", strings.Join(certFailed, ", ")))
	}
	for _, c := range e.Base {
		if c.OK == 0 && judged(c) > 0 && e.HybridOK > 0 {
			w = append(w, fmt.Sprintf("classical case %s failed (%s) while hybrid ones succeeded: the server refuses classical key exchange (a require-mode server does that)", c.Name, classSummary(c.Classes)))
		}
	}
	if c := r.caseByName(CaseHybridHRR); c != nil && c.HelloRetries > 0 && len(e.Failing) == 0 && e.Negotiated != "" {
		w = append(w, "the server answers a classical-only key share with a HelloRetryRequest for hybrid: clients that do not send a hybrid share up front pay one extra round trip"+hrrCost(c.Latency.P50, latencyOf(r, CaseHybrid)))
	}
	return w
}

// hrrCost states what the extra round trip measured, without contradicting
// the figures: on a short path it can vanish in the noise.
func hrrCost(hrr, direct float64) string {
	if hrr > direct {
		return fmt.Sprintf(" (here %+.2f ms p50: %s %.2f ms vs %s %.2f ms)", hrr-direct, CaseHybridHRR, hrr, CaseHybrid, direct)
	}
	return fmt.Sprintf(" (too small to measure on this path: %s p50 %.2f ms, %s %.2f ms; it grows with the round-trip time)", CaseHybridHRR, hrr, CaseHybrid, direct)
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
	c.Samples = min(cl.Latency.Samples, hy.Latency.Samples)
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
