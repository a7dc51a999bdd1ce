package scan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func res(addr string, v Verdict, at time.Time, groups ...string) Result {
	r := Result{Address: addr, StartTLS: ProtoNone, Verdict: v, ScannedAt: at, Connections: 1, Groups: []GroupResult{}}
	for i, g := range groups {
		kind := "classical"
		if strings.Contains(g, "MLKEM") {
			kind = "hybrid"
		}
		r.Groups = append(r.Groups, GroupResult{Name: g, Kind: kind, Rank: i + 1})
	}
	return r
}

func rep(gen time.Time, enumerate bool, rs ...Result) *Report {
	r := NewReport(rs, Options{Enumerate: enumerate}, "test", gen, time.Second)
	return r
}

func TestMerge(t *testing.T) {
	a := rep(t0, true, res("10.0.0.1:443", VerdictClassical, t0), res("10.0.0.2:443", VerdictPQReady, t0.Add(time.Minute)))
	b := rep(t0.Add(time.Hour), true, res("10.0.0.2:443", VerdictClassical, t0), res("10.0.0.3:443", VerdictPQReady, t0))
	// 10.0.0.2 in both: a's scan is newer (scanned_at wins over generated_at).
	m := Merge([]*Report{a, b}, []string{"a.json", "b.json"}, "v9")
	if len(m.Endpoints) != 3 || m.Endpoints[1].Verdict != VerdictPQReady || m.Endpoints[1].Source != "a.json" || m.Endpoints[2].Source != "b.json" {
		t.Fatalf("merged %+v", m.Endpoints)
	}
	if m.Summary.Endpoints != 3 || m.Summary.Verdicts["pq_ready"] != 2 || m.Summary.Verdicts["classical"] != 1 || m.Summary.Connections != 3 || !m.GeneratedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("summary %+v generated %v", m.Summary, m.GeneratedAt)
	}
	// Same scanned_at: the report generated later wins, whatever the order.
	c := rep(t0.Add(2*time.Hour), true, res("10.0.0.1:443", VerdictPQReady, t0))
	for _, order := range [][]*Report{{a, c}, {c, a}} {
		m := Merge(order, []string{"x", "y"}, "v9")
		if m.Endpoints[0].Verdict != VerdictPQReady {
			t.Errorf("tie on scanned_at: %s won", m.Endpoints[0].Verdict)
		}
	}
	// Same address, other SNI or STARTTLS: other endpoints.
	d1, d2 := res("10.0.0.1:443", VerdictPQReady, t0), res("10.0.0.1:443", VerdictPQReady, t0)
	d1.Target.ServerName, d2.StartTLS = "api.internal", ProtoPostgres
	if m := Merge([]*Report{a, rep(t0, true, d1, d2)}, []string{"a", "d"}, "v"); len(m.Endpoints) != 4 {
		t.Errorf("%d endpoints, want 4", len(m.Endpoints))
	}
	// The JSON round trip keeps scanned_at and source.
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(m)
	back, err := DecodeReport(&buf, "m.json")
	if err != nil || !back.Endpoints[0].ScannedAt.Equal(t0) || back.Endpoints[2].Source != "b.json" {
		t.Errorf("round trip: %v %+v", err, back.Endpoints)
	}
	for doc, want := range map[string]string{"": "empty file", "{": "not a JSON scan report", `{"schema":"pqtls.observe/v1"}`: `schema "pqtls.observe/v1"`} {
		if _, err := DecodeReport(strings.NewReader(doc), "x.json"); err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "x.json: ") {
			t.Errorf("%q: %v", doc, err)
		}
	}
}

func TestCompare(t *testing.T) {
	old := rep(t0, true,
		res("10.0.0.1:443", VerdictClassical, t0, "X25519"),                            // -> pq_ready: newly_hybrid
		res("10.0.0.2:443", VerdictPQReady, t0, "X25519MLKEM768", "X25519"),            // -> classical: regressed
		res("10.0.0.3:443", VerdictPQReady, t0, "X25519MLKEM768", "SecP256r1MLKEM768"), // lost a hybrid group: regressed
		res("10.0.0.4:443", VerdictPQReady, t0, "X25519MLKEM768"),                      // -> timeout: errored
		res("10.0.0.5:443", VerdictClassical, t0, "X25519"),                            // unchanged
		res("10.0.0.6:443", VerdictUnreachable, t0),                                    // unreachable twice: unchanged
		res("10.0.0.7:443", VerdictClassical, t0, "X25519"),                            // gone
		res("10.0.0.9:443", VerdictPQCapable, t0, "X25519MLKEM768", "X25519"),          // -> pq_ready: newly_hybrid
	)
	nw := rep(t0.Add(24*time.Hour), true,
		res("10.0.0.1:443", VerdictPQReady, t0, "X25519MLKEM768", "X25519"),
		res("10.0.0.2:443", VerdictClassical, t0, "X25519"),
		res("10.0.0.3:443", VerdictPQReady, t0, "X25519MLKEM768"),
		res("10.0.0.4:443", VerdictTimeout, t0),
		res("10.0.0.5:443", VerdictClassical, t0, "X25519"),
		res("10.0.0.6:443", VerdictUnreachable, t0),
		res("10.0.0.8:443", VerdictPQReady, t0, "X25519MLKEM768"), // new
		res("10.0.0.9:443", VerdictPQReady, t0, "X25519MLKEM768", "X25519"),
	)
	d := Compare(old, nw, "old.json", "new.json")
	want := map[string]DiffCategory{"10.0.0.1:443": DiffNewlyHybrid, "10.0.0.2:443": DiffRegressed, "10.0.0.3:443": DiffRegressed, "10.0.0.4:443": DiffErrored,
		"10.0.0.5:443": DiffUnchanged, "10.0.0.6:443": DiffUnchanged, "10.0.0.7:443": DiffGone, "10.0.0.8:443": DiffNew, "10.0.0.9:443": DiffNewlyHybrid}
	if len(d.Endpoints) != len(want) {
		t.Fatalf("%d entries, want %d", len(d.Endpoints), len(want))
	}
	for _, e := range d.Endpoints {
		if e.Category != want[e.Address] {
			t.Errorf("%s: %s (%s), want %s", e.Address, e.Category, e.Change, want[e.Address])
		}
	}
	if d.Counts["regressed"] != 2 || d.Counts["newly_hybrid"] != 2 || d.Counts["unchanged"] != 2 || d.Counts["gone"] != 1 || d.Counts["new"] != 1 || d.Counts["errored"] != 1 {
		t.Errorf("counts %v", d.Counts)
	}
	if e := d.Endpoints[2]; e.Change != "lost SecP256r1MLKEM768" {
		t.Errorf("change %q", e.Change)
	}
	// A quick (not enumerated) new scan lists no groups: that is not a
	// lost group.
	quick := rep(t0, false, res("10.0.0.3:443", VerdictPQReady, t0))
	if d := Compare(old, quick, "o", "n"); d.Endpoints[0].Category != DiffUnchanged {
		t.Errorf("quick rescan: %s", d.Endpoints[0].Category)
	}
	if got := d.Has([]DiffCategory{DiffRegressed, DiffNew}); len(got) != 2 {
		t.Errorf("Has: %v", got)
	}
	var tbl bytes.Buffer
	WriteDiffTable(&tbl, d)
	for _, s := range []string{"regressed", "10.0.0.2:443", "pq_ready -> classical", "2 newly_hybrid, 2 regressed, 1 new, 1 gone, 2 unchanged, 1 errored", "hybrid share 50 % -> 50 % of endpoints (8 -> 8 endpoints)", "pq_ready -> timeout"} {
		if !strings.Contains(tbl.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, tbl.String())
		}
	}
	if strings.Contains(tbl.String(), "10.0.0.5:443") {
		t.Error("unchanged endpoints listed in the table")
	}
	var html bytes.Buffer
	if err := WriteDiffHTML(&html, d); err != nil || !strings.Contains(html.String(), "newly_hybrid") {
		t.Errorf("html: %v", err)
	}
	if _, err := ParseDiffCategories("regressed, Errored"); err != nil {
		t.Error(err)
	}
	if _, err := ParseDiffCategories("worse"); err == nil || !strings.Contains(err.Error(), "newly_hybrid, regressed, new, gone, unchanged, errored") {
		t.Errorf("bad category: %v", err)
	}
}
