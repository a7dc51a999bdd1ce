package scan

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/report"
)

// DiffSchema is the "schema" of the JSON output of pqtls scan diff.
const DiffSchema = "pqtls.scan-diff/v1"

// DiffCategory says how an endpoint changed between two reports.
type DiffCategory string

// Diff categories, in report order.
const (
	// DiffNewlyHybrid: the endpoint moved up: no hybrid group before and
	// one now (pq_capable or pq_ready), or pq_capable before and pq_ready
	// now (default clients now get a hybrid group).
	DiffNewlyHybrid DiffCategory = "newly_hybrid"
	// DiffRegressed: the endpoint moved down (hybrid before, classical
	// now, or pq_ready before and pq_capable now), or both scans
	// enumerated groups and a hybrid group the old one accepted is gone.
	DiffRegressed DiffCategory = "regressed"
	// DiffNew: only in the new report.
	DiffNew DiffCategory = "new"
	// DiffGone: only in the old report.
	DiffGone DiffCategory = "gone"
	// DiffUnchanged: the same hybrid status (failing in both counts too).
	DiffUnchanged DiffCategory = "unchanged"
	// DiffErrored: assessed before, failing now (unreachable, timeout...):
	// not a regression, but nothing is known about it any more.
	DiffErrored DiffCategory = "errored"
)

// DiffCategories lists the categories in report order.
var DiffCategories = []DiffCategory{DiffNewlyHybrid, DiffRegressed, DiffNew, DiffGone, DiffUnchanged, DiffErrored}

// ParseDiffCategories parses a --fail-on list of diff categories
// (comma-separated, trimmed, case-insensitive).
func ParseDiffCategories(s string) ([]DiffCategory, error) {
	var out []DiffCategory
	for _, f := range strings.Split(s, ",") {
		c := DiffCategory(strings.ToLower(strings.TrimSpace(f)))
		if c == "" {
			continue
		}
		if !slices.Contains(DiffCategories, c) {
			return nil, fmt.Errorf("unknown category %q: use %s", strings.TrimSpace(f), strings.Join(asStrings(DiffCategories), ", "))
		}
		out = append(out, c)
	}
	return out, nil
}

// DiffSide is an endpoint as one report saw it.
type DiffSide struct {
	Verdict      Verdict   `json:"verdict"`
	Reason       string    `json:"reason"`
	DefaultGroup string    `json:"default_group,omitempty"`
	HybridGroups []string  `json:"hybrid_groups"`
	ScannedAt    time.Time `json:"scanned_at"`
	// CNSA2 is the CNSA 2.0 verdict and MLDSA the ML-DSA cell of the
	// table (schemes, no, ?); absent in reports made before they existed.
	CNSA2 CNSA2Verdict `json:"cnsa2,omitempty"`
	MLDSA string       `json:"ml_dsa,omitempty"`
}

// DiffEntry is one endpoint of a diff.
type DiffEntry struct {
	EndpointKey
	Category DiffCategory `json:"category"`
	// Change says what changed in one line ("classical -> pq_ready",
	// "lost X25519MLKEM768").
	Change   string    `json:"change"`
	Service  string    `json:"service,omitempty"`
	Owner    string    `json:"owner,omitempty"`
	Priority string    `json:"priority,omitempty"`
	Old      *DiffSide `json:"old,omitempty"`
	New      *DiffSide `json:"new,omitempty"`
}

// DiffReportInfo identifies one of the two reports.
type DiffReportInfo struct {
	Name        string    `json:"name"`
	GeneratedAt time.Time `json:"generated_at"`
	Endpoints   int       `json:"endpoints"`
	HybridShare float64   `json:"hybrid_share"`
}

// Diff is migration progress between two scan reports (schema
// pqtls.scan-diff/v1).
type Diff struct {
	Schema    string         `json:"schema"`
	Old       DiffReportInfo `json:"old"`
	New       DiffReportInfo `json:"new"`
	Counts    map[string]int `json:"counts"`
	Endpoints []DiffEntry    `json:"endpoints"`
}

// hybridLevel ranks a verdict: 2 pq_ready, 1 pq_capable, 0 otherwise.
func hybridLevel(v Verdict) int {
	switch v {
	case VerdictPQReady:
		return 2
	case VerdictPQCapable:
		return 1
	}
	return 0
}

func hybridGroups(r *Result) []string {
	out := []string{}
	for _, g := range r.Groups {
		if (g.Kind == string(pqtls.KindHybrid) || g.Kind == string(pqtls.KindPQ)) && !g.Broken() {
			out = append(out, g.Name)
		}
	}
	return out
}

func side(r *Result) *DiffSide {
	d := &DiffSide{Verdict: r.Verdict, Reason: r.Reason, HybridGroups: hybridGroups(r), ScannedAt: r.ScannedAt}
	if r.DefaultClient != nil && r.DefaultClient.Error == "" {
		d.DefaultGroup = r.DefaultClient.Group
	}
	d.CNSA2 = r.CNSA2.Verdict
	if c := mldsaCell(*r); c != "-" {
		d.MLDSA = c
	}
	return d
}

func hybridShare(rep *Report) float64 {
	if len(rep.Endpoints) == 0 {
		return 0
	}
	n := 0
	for _, r := range rep.Endpoints {
		if hybridLevel(r.Verdict) > 0 {
			n++
		}
	}
	return float64(n) / float64(len(rep.Endpoints))
}

// Compare classifies every endpoint of old and new (keyed by
// [Result.Key]). Entries follow the new report's order, then the gone
// ones in the old report's order.
func Compare(old, new *Report, oldName, newName string) *Diff {
	d := &Diff{Schema: DiffSchema, Counts: map[string]int{}, Endpoints: []DiffEntry{},
		Old: DiffReportInfo{Name: oldName, GeneratedAt: old.GeneratedAt, Endpoints: len(old.Endpoints), HybridShare: hybridShare(old)},
		New: DiffReportInfo{Name: newName, GeneratedAt: new.GeneratedAt, Endpoints: len(new.Endpoints), HybridShare: hybridShare(new)}}
	for _, c := range DiffCategories {
		d.Counts[string(c)] = 0
	}
	before := map[EndpointKey]*Result{}
	for i := range old.Endpoints {
		before[old.Endpoints[i].Key()] = &old.Endpoints[i]
	}
	seen := map[EndpointKey]bool{}
	groupsComparable := old.Options.Enumerate && new.Options.Enumerate
	add := func(e DiffEntry, r *Result) {
		e.Service, e.Owner, e.Priority = r.Target.Service, r.Target.Owner, r.Priority.Level
		d.Endpoints = append(d.Endpoints, e)
		d.Counts[string(e.Category)]++
	}
	for i := range new.Endpoints {
		n := &new.Endpoints[i]
		k := n.Key()
		if seen[k] {
			continue
		}
		seen[k] = true
		o, ok := before[k]
		if !ok {
			add(DiffEntry{EndpointKey: k, Category: DiffNew, Change: "new: " + string(n.Verdict), New: side(n)}, n)
			continue
		}
		cat, change := classifyChange(o, n, groupsComparable)
		if a, b := o.CNSA2.Verdict, n.CNSA2.Verdict; a != "" && b != "" && a != b {
			change += "; cnsa2 " + string(a) + " -> " + string(b)
		}
		add(DiffEntry{EndpointKey: k, Category: cat, Change: change, Old: side(o), New: side(n)}, n)
	}
	for i := range old.Endpoints {
		o := &old.Endpoints[i]
		if k := o.Key(); !seen[k] {
			seen[k] = true
			add(DiffEntry{EndpointKey: k, Category: DiffGone, Change: "gone (was " + string(o.Verdict) + ")", Old: side(o)}, o)
		}
	}
	return d
}

func classifyChange(o, n *Result, groupsComparable bool) (DiffCategory, string) {
	arrow := string(o.Verdict) + " -> " + string(n.Verdict)
	switch {
	case o.Verdict.Scanned() && !n.Verdict.Scanned():
		if n.Reason != "" {
			arrow += " (" + n.Reason + ")"
		}
		return DiffErrored, arrow
	case !n.Verdict.Scanned():
		return DiffUnchanged, arrow
	}
	lo, ln := hybridLevel(o.Verdict), hybridLevel(n.Verdict)
	if !o.Verdict.Scanned() {
		lo = 0
	}
	switch {
	case ln > lo:
		return DiffNewlyHybrid, arrow
	case ln < lo:
		return DiffRegressed, arrow
	}
	if groupsComparable {
		now := hybridGroups(n)
		var lost []string
		for _, g := range hybridGroups(o) {
			if !slices.Contains(now, g) {
				lost = append(lost, g)
			}
		}
		if len(lost) > 0 {
			return DiffRegressed, "lost " + strings.Join(lost, ", ")
		}
	}
	if o.Verdict != n.Verdict {
		return DiffUnchanged, arrow
	}
	return DiffUnchanged, string(n.Verdict)
}

// Has reports whether any endpoint is in one of cats.
func (d *Diff) Has(cats []DiffCategory) []DiffCategory {
	var out []DiffCategory
	for _, c := range cats {
		if d.Counts[string(c)] > 0 {
			out = append(out, c)
		}
	}
	return out
}

// DiffFormat is one output format of pqtls scan diff.
type DiffFormat struct {
	Name  string
	Write func(w io.Writer, d *Diff) error
}

// DiffFormats lists the output formats of pqtls scan diff.
var DiffFormats = []DiffFormat{
	{"table", WriteDiffTable},
	{"json", func(w io.Writer, d *Diff) error { return report.JSON(w, d) }},
	{"html", WriteDiffHTML},
}

// ParseDiffFormat finds a diff format by name (trimmed, case-insensitive).
func ParseDiffFormat(s string) (DiffFormat, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	names := make([]string, len(DiffFormats))
	for i, f := range DiffFormats {
		if f.Name == name {
			return f, nil
		}
		names[i] = f.Name
	}
	return DiffFormat{}, fmt.Errorf("unknown format %q: use %s", s, strings.Join(names, ", "))
}

func (d *Diff) headline() string {
	return fmt.Sprintf("hybrid share %s -> %s of endpoints (%d -> %d endpoints)", percent(d.Old.HybridShare), percent(d.New.HybridShare), d.Old.Endpoints, d.New.Endpoints)
}

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + " %" }

func (d *Diff) countLine() string {
	var parts []string
	for _, c := range DiffCategories {
		parts = append(parts, fmt.Sprintf("%d %s", d.Counts[string(c)], c))
	}
	return strings.Join(parts, ", ")
}

// WriteDiffTable writes the changed endpoints (unchanged ones are only
// counted) and the counts per category.
func WriteDiffTable(w io.Writer, d *Diff) error {
	t := report.Table{Columns: []string{"CATEGORY", "ENDPOINT", "STARTTLS", "SNI", "CHANGE", "SERVICE", "OWNER"}}
	for _, c := range DiffCategories {
		if c == DiffUnchanged {
			continue
		}
		for _, e := range d.Endpoints {
			if e.Category == c {
				t.Rows = append(t.Rows, []string{string(c), e.Address, e.StartTLS, orDash(e.ServerName), e.Change, orDash(e.Service), orDash(e.Owner)})
			}
		}
	}
	if len(t.Rows) > 0 {
		if err := t.Write(w, false); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintf(w, "%s\n%s\n", d.countLine(), d.headline())
	return err
}

// WriteDiffHTML writes the diff as a self-contained HTML page.
func WriteDiffHTML(w io.Writer, d *Diff) error {
	return report.HTML(w, d.Page())
}

// Page returns the diff as an HTML page (also a section of other pages).
func (d *Diff) Page() *report.Page {
	p := &report.Page{
		Title:    "pqtls scan diff: migration progress",
		Subtitle: fmt.Sprintf("%s (%s) -> %s (%s): %s", d.Old.Name, d.Old.GeneratedAt.Format(time.RFC3339), d.New.Name, d.New.GeneratedAt.Format(time.RFC3339), d.headline()),
		Footer:   "newly_hybrid: no hybrid group before, one now (or default clients now get one); regressed: the reverse, or a hybrid group lost; errored: assessed before, failing now (not a regression).",
	}
	class := map[DiffCategory]string{DiffNewlyHybrid: "good", DiffRegressed: "bad", DiffErrored: "warn", DiffGone: "muted", DiffNew: "", DiffUnchanged: "muted"}
	chart := report.BarChart{Title: "Endpoints by change"}
	for _, c := range DiffCategories {
		n := d.Counts[string(c)]
		p.Stats = append(p.Stats, report.Stat{Label: string(c), Value: strconv.Itoa(n), Class: class[c]})
		if n > 0 {
			chart.Bars = append(chart.Bars, report.Bar{Label: string(c), Value: n, Class: class[c]})
		}
	}
	p.Charts = []report.BarChart{chart}
	tbl := &report.HTMLTable{Columns: []string{"Endpoint", "Category", "Change", "STARTTLS", "SNI", "Service", "Owner", "Priority"}}
	for _, e := range d.Endpoints {
		tbl.Rows = append(tbl.Rows, report.HTMLRow{Class: class[e.Category], Cells: []string{e.Address, string(e.Category), e.Change, e.StartTLS, e.ServerName, e.Service, e.Owner, e.Priority}})
	}
	p.Table = tbl
	return p
}
