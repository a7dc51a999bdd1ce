package scan

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/report"
)

// Report is the JSON document of schema pqtls.scan/v1.
type Report struct {
	Schema      string        `json:"schema"`
	GeneratedAt time.Time     `json:"generated_at"`
	Tool        ToolInfo      `json:"tool"`
	Options     ReportOptions `json:"options"`
	Summary     Summary       `json:"summary"`
	Endpoints   []Result      `json:"endpoints"`
}

// ToolInfo names the generating tool.
type ToolInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ReportOptions records the options that shape the results.
type ReportOptions struct {
	Enumerate   bool    `json:"enumerate"`
	Exhaustive  bool    `json:"exhaustive"`
	TimeoutMS   float64 `json:"timeout_ms"`
	Retries     int     `json:"retries"`
	Concurrency int     `json:"concurrency"`
	PerHost     int     `json:"per_host"`
	StartTLS    string  `json:"starttls"`
}

// Summary aggregates a scan.
type Summary struct {
	Endpoints  int            `json:"endpoints"`
	Verdicts   map[string]int `json:"verdicts"`
	Groups     map[string]int `json:"groups"`
	Priorities map[string]int `json:"priorities"`
	// CNSA2 counts the CNSA 2.0 verdicts (every verdict present).
	CNSA2 map[string]int `json:"cnsa2"`
	// MLDSACapable counts the endpoints that authenticate with ML-DSA.
	MLDSACapable int     `json:"ml_dsa_capable"`
	Connections  int     `json:"connections"`
	DurationMS   float64 `json:"duration_ms"`
}

// NewReport builds the report of a scan.
func NewReport(results []Result, opts Options, toolVersion string, started time.Time, elapsed time.Duration) *Report {
	r := &Report{
		Schema: Schema, GeneratedAt: started.UTC(), Tool: ToolInfo{Name: "pqtls", Version: toolVersion},
		Options: ReportOptions{Enumerate: opts.Enumerate, Exhaustive: opts.Exhaustive, TimeoutMS: ms(opts.timeout()), Retries: opts.retries(),
			Concurrency: cmpOr(opts.Concurrency, DefaultConcurrency), PerHost: cmpOr(opts.PerHost, DefaultPerHost), StartTLS: string(cmpOr(opts.StartTLS, ProtoAuto))},
		Endpoints: results,
	}
	if r.Endpoints == nil {
		r.Endpoints = []Result{}
	}
	r.Summary = summarize(r.Endpoints, ms(elapsed))
	return r
}

// summarize counts verdicts, groups, priorities and connections.
func summarize(results []Result, durationMS float64) Summary {
	s := Summary{Endpoints: len(results), Verdicts: map[string]int{}, Groups: map[string]int{}, Priorities: map[string]int{}, CNSA2: map[string]int{}, DurationMS: durationMS}
	for _, v := range Verdicts {
		s.Verdicts[string(v)] = 0
	}
	for _, v := range CNSA2Verdicts {
		s.CNSA2[string(v)] = 0
	}
	for _, res := range results {
		s.Verdicts[string(res.Verdict)]++
		s.CNSA2[string(cmpOr(res.CNSA2.Verdict, CNSA2Unknown))]++
		if mldsaCell(res) != "no" && mldsaCell(res) != "-" && mldsaCell(res) != "?" {
			s.MLDSACapable++
		}
		s.Priorities[res.Priority.Level]++
		s.Connections += res.Connections
		for _, g := range res.Groups {
			if !g.Broken() {
				s.Groups[g.Name]++
			}
		}
	}
	return s
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// FailOnConditions lists the --fail-on conditions besides verdict names.
var FailOnConditions = []string{"not-ready", "classical", "tls12", "error", "draft", "priority-high", "cnsa2"}

// ParseFailOn validates a --fail-on list (comma-separated conditions or
// verdict names).
func ParseFailOn(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ToLower(f))
		if f == "" {
			continue
		}
		ok := slices.Contains(FailOnConditions, f)
		for _, v := range Verdicts {
			ok = ok || string(v) == f
		}
		if !ok {
			return nil, fmt.Errorf("unknown --fail-on condition %q: use %s or a verdict (%s)", f, strings.Join(FailOnConditions, ", "), strings.Join(asStrings(Verdicts), ", "))
		}
		out = append(out, f)
	}
	return out, nil
}

// asStrings converts string-typed values (verdicts, categories) for lists
// in messages.
func asStrings[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// Offenders returns the results matching any fail-on condition, with the
// condition each one matched.
func Offenders(results []Result, conds []string) (out []Result, why []string) {
	for _, r := range results {
		for _, c := range conds {
			if matchFailOn(r, c) {
				out = append(out, r)
				why = append(why, c)
				break
			}
		}
	}
	return out, why
}

func matchFailOn(r Result, c string) bool {
	switch c {
	case "not-ready":
		return r.Verdict != VerdictPQReady
	case "classical":
		return r.Verdict == VerdictClassical || r.Verdict == VerdictTLS12Only || r.Verdict == VerdictNoTLS
	case "tls12":
		return r.Verdict == VerdictTLS12Only
	case "error":
		return !r.Verdict.Scanned()
	case "draft":
		for _, g := range r.Groups {
			if g.Kind == string(pqtls.KindDraft) {
				return true
			}
		}
		return false
	case "priority-high":
		return r.Priority.Level == "high" || r.Priority.Level == "critical"
	case "cnsa2":
		// unknown matches too: never pass a CNSA 2.0 gate unassessed.
		return r.CNSA2.Verdict != CNSA2Ready && r.CNSA2.Verdict != CNSA2Transitional
	}
	return string(r.Verdict) == c
}

func verdictColour(v Verdict) report.Colour {
	switch v {
	case VerdictPQReady:
		return report.Green
	case VerdictPQCapable:
		return report.Yellow
	case VerdictClassical, VerdictTLS12Only, VerdictNoTLS:
		return report.Red
	}
	return report.Grey
}

func verdictClass(v Verdict) string {
	switch verdictColour(v) {
	case report.Green:
		return "good"
	case report.Yellow:
		return "warn"
	case report.Red:
		return "bad"
	}
	return "muted"
}

// name is the ENDPOINT cell: the target as written (with its port), the
// concrete address for a member of a CIDR range, and the address dialled
// when a name resolved.
func name(r Result) string {
	n := r.Target.Input
	if n == "" || isRangeInput(n) {
		n = cmp.Or(r.Address, r.Target.Address())
	}
	if r.Target.IP != "" && r.Target.IP != r.Target.Host {
		n += " (" + r.Target.IP + ")"
	}
	return n
}

// isRangeInput reports a CIDR target ("10.0.0.0/30:443", "tls://[fd00::/126]:443").
func isRangeInput(in string) bool {
	if _, rest, ok := strings.Cut(in, "://"); ok {
		in = rest
	}
	return strings.Contains(strings.TrimSuffix(in, "/"), "/")
}

// plural returns "1 endpoint", "2 endpoints".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// humanDuration writes a scan duration the way a person reads it: "3ms",
// "0.4s", "12.5s", "2m5s".
func humanDuration(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < 100*time.Millisecond:
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	return d.Round(time.Second).String()
}

func defaultGroup(r Result) string {
	if r.DefaultClient == nil {
		return "-"
	}
	if r.DefaultClient.Error != "" {
		return "fails"
	}
	g := r.DefaultClient.Group
	if r.DefaultClient.HelloRetry {
		g += " (HRR)"
	}
	return g
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteTable writes the human table and a "migrate first" list.
func WriteTable(w io.Writer, rep *Report, colour bool) error {
	t := report.Table{Columns: []string{"ENDPOINT", "VERDICT", "DEFAULT CLIENT", "VERSIONS", "PQ GROUPS", "ML-DSA", "CNSA2", "PRIORITY", "CONNS", "REASON"}}
	for _, r := range rep.Endpoints {
		var pq []string
		for _, g := range r.Groups {
			if g.Kind == string(pqtls.KindHybrid) || g.Kind == string(pqtls.KindPQ) {
				if g.Broken() {
					pq = append(pq, g.Name+"(broken)")
				} else {
					pq = append(pq, g.Name)
				}
			}
		}
		pqs := strings.Join(pq, ",")
		if !rep.Options.Enumerate {
			pqs = "(not enumerated)"
		}
		t.Rows = append(t.Rows, []string{name(r), string(r.Verdict), defaultGroup(r), orDash(strings.Join(shortVersions(r.Versions), ",")),
			orDash(pqs), mldsaCell(r), cnsa2Cell(r), fmt.Sprintf("%s %d", r.Priority.Level, r.Priority.Score), strconv.Itoa(r.Connections), r.Reason})
		t.RowColour = append(t.RowColour, verdictColour(r.Verdict))
	}
	if err := t.Write(w, colour); err != nil {
		return err
	}
	var parts []string
	for _, v := range Verdicts {
		if n := rep.Summary.Verdicts[string(v)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
		}
	}
	fmt.Fprintf(w, "\n%s: %s; %s in %s\n", plural(rep.Summary.Endpoints, "endpoint"), strings.Join(parts, ", "), plural(rep.Summary.Connections, "connection"), humanDuration(rep.Summary.DurationMS))
	first := ByPriority(rep.Endpoints)
	var lines []string
	for _, r := range first {
		if r.Priority.Level == "critical" || r.Priority.Level == "high" || r.Priority.Level == "medium" {
			who := ""
			if r.Target.Service != "" || r.Target.Owner != "" {
				who = fmt.Sprintf(" [%s]", strings.Trim(r.Target.Service+" / "+r.Target.Owner, " /"))
			}
			lines = append(lines, report.TermSafe(fmt.Sprintf("  %-8s %3d  %s%s: %s", r.Priority.Level, r.Priority.Score, name(r), who, r.Priority.Rationale)))
		}
	}
	if len(lines) > 0 {
		fmt.Fprintln(w, "\nMigrate first (harvest-now-decrypt-later priority):")
		for _, l := range lines[:min(len(lines), 20)] {
			fmt.Fprintln(w, l)
		}
	}
	return nil
}

func shortVersions(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.TrimPrefix(v, "TLS ")
	}
	return out
}

// ByPriority returns the results sorted by descending priority score (ties
// keep input order).
func ByPriority(rs []Result) []Result {
	out := slices.Clone(rs)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Priority.Score > out[j].Priority.Score })
	return out
}

// CSVHeader is the header of the CSV output.
var CSVHeader = []string{"endpoint", "address", "server_name", "starttls", "service", "owner", "verdict", "reason", "default_group", "default_hrr",
	"versions", "groups", "server_preference", "group_order", "tls12_curves", "cert_subject", "cert_key", "cert_sig", "cert_not_after",
	"cert_key_alg", "chain_sig_algs", "chain_key_algs", "ml_dsa", "ml_dsa_chain_sig_algs", "cnsa2",
	"chain_verified", "priority", "priority_score", "connections", "duration_ms"}

// WriteCSV writes one row per endpoint.
func WriteCSV(w io.Writer, rep *Report) error { return writeCSV(w, rep, false) }

// writeCSV writes the CSV; termSafe escapes control characters in every
// cell (for a terminal: a certificate subject is the server's text).
func writeCSV(w io.Writer, rep *Report, termSafe bool) error {
	var rows [][]string
	for _, r := range rep.Endpoints {
		dg, hrr := "", ""
		if r.DefaultClient != nil && r.DefaultClient.Error == "" {
			dg, hrr = r.DefaultClient.Group, strconv.FormatBool(r.DefaultClient.HelloRetry)
		}
		var subj, key, sig, na string
		if len(r.Certificates) > 0 {
			c := r.Certificates[0]
			subj, key, sig, na = c.Subject, fmt.Sprintf("%s %d", c.KeyType, c.KeyBits), c.SignatureAlgorithm, c.NotAfter.Format(time.RFC3339)
		}
		rows = append(rows, []string{r.Target.Input, r.Address, r.Target.ServerName, string(r.StartTLS), r.Target.Service, r.Target.Owner,
			string(r.Verdict), r.Reason, dg, hrr, strings.Join(r.Versions, ";"), strings.Join(groupCells(r), ";"), strings.Join(r.ServerPreference, ";"),
			r.GroupOrder, strings.Join(r.TLS12Curves, ";"), subj, key, sig, na,
			leafKeyAlg(r.Certificates), chainAlgs(r.Certificates, true), chainAlgs(r.Certificates, false), csvMLDSA(r), mldsaChainAlgs(r), string(r.CNSA2.Verdict),
			strconv.FormatBool(r.ChainVerified), r.Priority.Level, strconv.Itoa(r.Priority.Score), strconv.Itoa(r.Connections), strconv.FormatFloat(r.DurationMS, 'f', 1, 64)})
		if termSafe {
			for i, c := range rows[len(rows)-1] {
				rows[len(rows)-1][i] = report.TermSafe(c)
			}
		}
	}
	return report.CSV(w, CSVHeader, rows)
}

// groupCells names the accepted groups, a broken one (HRR but no
// handshake) suffixed "(broken)" so that a filter on the name does not
// count it as support.
func groupCells(r Result) []string {
	out := make([]string, len(r.Groups))
	for i, g := range r.Groups {
		out[i] = g.Name
		if g.Broken() {
			out[i] += "(broken)"
		}
	}
	return out
}

// WriteHTML writes a self-contained HTML report.
func WriteHTML(w io.Writer, rep *Report) error {
	p := &report.Page{
		Title:    "pqtls scan: post-quantum readiness",
		Subtitle: fmt.Sprintf("%s, generated %s by pqtls %s (schema %s)", plural(rep.Summary.Endpoints, "endpoint"), rep.GeneratedAt.Format(time.RFC3339), rep.Tool.Version, rep.Schema),
		Headline: Headline(rep),
		Footer:   "Verdicts: pq_ready = a default modern client gets a hybrid group; pq_capable = hybrid supported but not chosen by default; classical = TLS 1.3 without hybrid; tls12_only = no TLS 1.3. Priority = harvest-now-decrypt-later ranking from inventory tags. ML-DSA = the server authenticates with ML-DSA for clients that offer it; CNSA 2.0 = ML-KEM-1024 key exchange and an ML-DSA-87 chain (AES-256 reported, not enforced).",
	}
	vc := report.BarChart{Title: "Verdicts"}
	for _, v := range Verdicts {
		n := rep.Summary.Verdicts[string(v)]
		p.Stats = append(p.Stats, report.Stat{Label: string(v), Value: strconv.Itoa(n), Class: verdictClass(v)})
		if n > 0 {
			vc.Bars = append(vc.Bars, report.Bar{Label: string(v), Value: n, Class: verdictClass(v)})
		}
	}
	p.Charts = append(p.Charts, vc)
	gc := report.BarChart{Title: "Groups supported (endpoints)"}
	for _, g := range pqtls.Groups() {
		if n := rep.Summary.Groups[g.Name]; n > 0 {
			cls := "muted"
			switch g.Kind {
			case pqtls.KindHybrid, pqtls.KindPQ:
				cls = "good"
			case pqtls.KindDraft:
				cls = "bad"
			}
			gc.Bars = append(gc.Bars, report.Bar{Label: g.Name, Value: n, Class: cls})
		}
	}
	if len(gc.Bars) > 0 {
		p.Charts = append(p.Charts, gc)
	}
	p.Sections = migrateFirst(rep)
	tbl := &report.HTMLTable{Columns: []string{"Endpoint", "Verdict", "Reason", "Default client", "Versions", "Groups (server order)", "Service", "Owner", "Priority", "Score"}}
	for i, r := range rep.Endpoints {
		id := fmt.Sprintf("e%d", i)
		tbl.Rows = append(tbl.Rows, report.HTMLRow{Class: verdictClass(r.Verdict), DetailID: id, Cells: []string{name(r), string(r.Verdict), r.Reason, defaultGroup(r),
			strings.Join(shortVersions(r.Versions), ", "), strings.Join(r.ServerPreference, ", "), r.Target.Service, r.Target.Owner, r.Priority.Level, strconv.Itoa(r.Priority.Score)}})
		d := report.Detail{ID: id, Class: verdictClass(r.Verdict), Title: name(r) + " - " + string(r.Verdict)}
		add := func(k, v string) {
			if v != "" {
				d.Fields = append(d.Fields, [2]string{k, v})
			}
		}
		add("address", r.Address)
		add("server name", r.Target.ServerName)
		add("starttls", string(r.StartTLS))
		add("reason", r.Reason)
		add("error", r.Error)
		if dc := r.DefaultClient; dc != nil {
			if dc.Error != "" {
				add("default client", "fails: "+dc.Error)
			} else {
				add("default client", defaultClientText(dc))
			}
		}
		add("versions", strings.Join(r.Versions, ", "))
		var gl []string
		for _, g := range r.Groups {
			c := "unconfirmed"
			switch {
			case g.Broken():
				c = "BROKEN: HelloRetryRequest but the handshake fails: " + g.ConfirmError
			case g.Confirmed != nil:
				c = "confirmed"
			}
			gl = append(gl, fmt.Sprintf("%d. %s (%s, %s)", g.Rank, g.Name, g.Kind, c))
		}
		add("TLS 1.3 groups", strings.Join(gl, "\n"))
		add("group order", r.GroupOrder)
		add("TLS 1.2 curves", strings.Join(r.TLS12Curves, ", "))
		for j, c := range r.Certificates {
			add(fmt.Sprintf("certificate %d", j), certText(c))
		}
		add("ML-DSA authentication", mldsaText(r))
		add("CNSA 2.0", cnsa2Text(r.CNSA2))
		if len(r.Certificates) > 0 {
			add("chain", chainText(r))
		}
		add("notes", strings.Join(r.Notes, "\n"))
		add("probe errors", strings.Join(r.ProbeErrors, "\n"))
		var tags []string
		for k, v := range r.Target.Tags {
			tags = append(tags, k+"="+v)
		}
		sort.Strings(tags)
		add("tags", strings.Join(tags, ", "))
		add("priority", fmt.Sprintf("%s %d: %s", r.Priority.Level, r.Priority.Score, r.Priority.Rationale))
		add("connections", strconv.Itoa(r.Connections))
		p.Details = append(p.Details, d)
	}
	p.Table = tbl
	return report.HTML(w, p)
}

// Headline is the one-sentence summary of a report: the hybrid share and
// how many endpoints are critical or high priority to migrate.
func Headline(rep *Report) string {
	n := len(rep.Endpoints)
	if n == 0 {
		return "no endpoints scanned"
	}
	hybrid, critical, high := 0, 0, 0
	for _, r := range rep.Endpoints {
		if hybridLevel(r.Verdict) > 0 {
			hybrid++
		}
		if r.Verdict != VerdictPQReady {
			switch r.Priority.Level {
			case "critical":
				critical++
			case "high":
				high++
			}
		}
	}
	return fmt.Sprintf("%s of endpoints hybrid, %d critical to migrate (%d of %d hybrid; %d high priority)", percent(float64(hybrid)/float64(n)), critical, hybrid, n, high)
}

// migrateFirst is the HTML view of the endpoints to migrate (every one
// that a default client does not reach with a hybrid group), highest
// priority first, with the reason.
func migrateFirst(rep *Report) []report.Section {
	t := &report.HTMLTable{Columns: []string{"Endpoint", "Priority", "Score", "Verdict", "Service", "Owner", "Why"}}
	idx := map[*Result]int{}
	for i := range rep.Endpoints {
		idx[&rep.Endpoints[i]] = i
	}
	order := make([]*Result, 0, len(rep.Endpoints))
	for i := range rep.Endpoints {
		if rep.Endpoints[i].Verdict != VerdictPQReady {
			order = append(order, &rep.Endpoints[i])
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Priority.Score > order[j].Priority.Score })
	for _, r := range order {
		why := r.Priority.Rationale
		if r.Reason != "" {
			why = r.Reason + ": " + why
		}
		t.Rows = append(t.Rows, report.HTMLRow{Class: verdictClass(r.Verdict), DetailID: fmt.Sprintf("e%d", idx[r]),
			Cells: []string{name(*r), r.Priority.Level, strconv.Itoa(r.Priority.Score), string(r.Verdict), r.Target.Service, r.Target.Owner, why}})
	}
	note := "Every endpoint a default client does not reach with a hybrid group, highest harvest-now-decrypt-later priority first."
	if len(order) == 0 {
		note = "Nothing to migrate: a default client reaches every endpoint with a hybrid group."
	}
	return []report.Section{{Title: "Migrate first", Note: note, Table: t}}
}

// defaultClientText describes the default client's handshake; ALPN only
// when one was negotiated.
func defaultClientText(dc *Handshake) string {
	s := fmt.Sprintf("%s %s, %s", dc.Version, dc.Group, dc.CipherSuite)
	if dc.HelloRetry {
		s += ", after a HelloRetryRequest"
	}
	if dc.ALPN != "" {
		s += ", ALPN " + dc.ALPN
	}
	return s + fmt.Sprintf(", %.1f ms", dc.DurationMS)
}

// chainText says whether the chain verifies, once.
func chainText(r Result) string {
	if r.ChainVerified {
		return "verified"
	}
	if r.VerifyError == "" {
		return "not verified"
	}
	return "not verified: " + r.VerifyError
}
