package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixAt(rule string, a, b int, text string) Finding {
	return Finding{Rule: rule, Fix: &Fix{Start: Pos{Offset: a}, End: Pos{Offset: b}, NewText: text}}
}

// Overlapping fixes are refused (none of a clashing group is applied);
// identical edits count once; adjacent edits do not clash.
func TestSplitOverlaps(t *testing.T) {
	fs := []Finding{
		fixAt("A", 0, 3, "x"),
		fixAt("B", 2, 5, "y"),  // overlaps A
		fixAt("C", 7, 7, "i"),  // two insertions at one offset: order unknown
		fixAt("D", 7, 7, "j"),  //
		fixAt("E", 9, 10, "z"), // alone
		fixAt("F", 9, 10, "z"), // same edit as E
		fixAt("G", 10, 10, "w"),
	}
	ok, bad := splitOverlaps(fs, 20)
	var okIDs, badIDs []string
	for _, f := range ok {
		okIDs = append(okIDs, f.Rule)
	}
	for _, f := range bad {
		badIDs = append(badIDs, f.Rule)
	}
	if strings.Join(okIDs, ",") != "E,G" || strings.Join(badIDs, ",") != "A,B,C,D" {
		t.Errorf("applied %v, refused %v; want E,G and A,B,C,D", okIDs, badIDs)
	}
	if got := string(ApplyFixes([]byte("0123456789abc"), ok)); got != "012345678zwabc" {
		t.Errorf("applied: %q", got)
	}
}

func TestUnifiedDiffHunks(t *testing.T) {
	var a, b []string
	for i := 1; i <= 30; i++ {
		l := "line " + string(rune('a'+i%26)) + "\n"
		a = append(a, l)
		b = append(b, l)
	}
	b[1] = "changed 2\n"
	b[25] = "changed 26\n"
	d := unifiedDiff("a/f", "b/f", a, b)
	want := "--- a/f\n+++ b/f\n@@ -1,5 +1,5 @@\n line b\n-line c\n+changed 2\n line d\n line e\n line f\n@@ -23,7 +23,7 @@\n"
	if !strings.HasPrefix(d, want) || strings.Count(d, "@@ -") != 2 {
		t.Errorf("diff:\n%s\nwant prefix:\n%s", d, want)
	}
	if d := unifiedDiff("a/f", "b/f", []string{"x"}, []string{"y"}); d != "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+y\n\\ No newline at end of file\n" {
		t.Errorf("no trailing newline:\n%s", d)
	}
}

// PlanFixes never applies upgrades, and reads the file as it is on disk.
func TestPlanFixesSkipsUpgrades(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM golang:1.22\nENV GODEBUG=tlsmlkem=0\n"), 0o644)
	res, err := Lint(t.Context(), []string{dir}, Options{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := PlanFixes(res)
	if err != nil || len(plan) != 1 {
		t.Fatalf("plan %v %v", plan, err)
	}
	ff := plan[0]
	if len(ff.Upgrades) != 1 || ff.Upgrades[0].Rule != "PQ201" || len(ff.Applied) != 1 || string(ff.After) != "FROM golang:1.22\nENV GODEBUG=tlsmlkem=1\n" {
		t.Errorf("upgrades %v applied %v after %q", ff.Upgrades, ff.Applied, ff.After)
	}
}

func TestPostgresMajorFromPath(t *testing.T) {
	for path, want := range map[string]int{
		"/etc/postgresql/18/main/postgresql.conf":               18,
		"/var/lib/pgsql/17/data/postgresql.conf":                17,
		"/src/postgres-15-tools/etc/postgresql/18/main/pg.conf": 18,
		"/home/u/postgres-operator-2/postgresql.conf":           0,
		"deploy/postgresql-16.conf":                             16,
		"/srv/db/postgresql.conf":                               0,
	} {
		s := newSource("postgresql.conf", []byte("ssl = on\n"), kindPostgres)
		if got := postgresMajor(s, path, s.codeLines()); got != want {
			t.Errorf("%s: major %d, want %d", path, got, want)
		}
	}
}
