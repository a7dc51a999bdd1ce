package scan

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// expand expands target specs with the default options and limit.
func expand(t *testing.T, specs []Spec) []Target {
	t.Helper()
	ts, err := Expand(specs, Options{}, Shard{}, DefaultMaxEndpoints)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// fakeResolver answers from a fixed table.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

// deadlineResolver refuses lookups made without a deadline.
type deadlineResolver struct{}

func (deadlineResolver) LookupNetIP(ctx context.Context, _, _ string) ([]netip.Addr, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, errors.New("lookup without a deadline")
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

func TestParseTargetForms(t *testing.T) {
	for _, tc := range []struct {
		in    string
		host  string
		port  int
		proto Protocol
		sni   string
		n     int
	}{
		{"db.internal:5432", "db.internal", 5432, ProtoAuto, "db.internal", 1},
		{"127.0.0.1:443", "127.0.0.1", 443, ProtoAuto, "", 1},
		{"[::1]:8443", "::1", 8443, ProtoAuto, "", 1},
		{"postgres://db:5433", "db", 5433, ProtoPostgres, "db", 1},
		{"smtp://mx.example", "mx.example", 587, ProtoSMTP, "mx.example", 1},
		{"https://web:443/", "web", 443, ProtoNone, "web", 1},
		{"10.0.0.0/30:443,8443", "10.0.0.0", 443, ProtoAuto, "", 8},
		{"[fd00::/127]:443", "fd00::", 443, ProtoAuto, "", 2},
	} {
		ts, err := ParseTarget(tc.in, "arg")
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if len(ts) != tc.n || ts[0].Host != tc.host || ts[0].Port != tc.port || ts[0].StartTLS != tc.proto || ts[0].ServerName != tc.sni {
			t.Errorf("%s: got %d targets, first %+v", tc.in, len(ts), ts[0])
		}
	}
	ts, _ := ParseTarget("10.0.0.0/30:443,8443", "arg")
	if ts[1].Port != 8443 || ts[2].IP != "10.0.0.1" || ts[7].IP != "10.0.0.3" {
		t.Errorf("CIDR expansion order: %+v", ts)
	}
}

func TestParseTargetErrors(t *testing.T) {
	for in, want := range map[string]string{
		"db.internal":            "want host:port",
		"db:0":                   "out of range",
		"db:65536":               "out of range",
		"db:https":               "is not a number",
		"gopher://db:70":         "unknown protocol",
		"10.0.0.0/8:443":         "split it",
		"10.0.0.0/30":            "port list",
		"bad host!:443":          "invalid character",
		":443":                   "missing host",
		"10.0.0.0/33:443":        "bad CIDR",
		"[fd00::/126]443":        "IPv6 range",
		"10.0.0.0/30:443,99999":  "out of range",
		"postgres://db:5432:1":   "want host:port",
		"":                       "empty target",
		"10.0.0.0/30:443,,8443x": "is not a number",
	} {
		_, err := ParseTarget(in, "fleet.txt:7")
		var te *TargetError
		if err == nil || !errors.As(err, &te) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "fleet.txt:7") {
			t.Errorf("%q: error %v, want one naming fleet.txt:7 and containing %q", in, err, want)
		}
	}
}

func TestTargetFile(t *testing.T) {
	specs, err := ReadTargetFile("testdata/fleet.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := expand(t, specs)
	if len(ts) != 8 {
		t.Fatalf("got %d targets, want 8: %+v", len(ts), ts)
	}
	if ts[0].Source != "testdata/fleet.txt:2" || ts[3].Source != "testdata/fleet.txt:6" || ts[3].Port != 587 || ts[2].StartTLS != ProtoPostgres {
		t.Errorf("sources/ports: %+v", ts[:4])
	}
	// stdin
	specs, err = ReadTargetFile("-", strings.NewReader("# c\n127.0.0.1:1\n"))
	ts = expand(t, specs)
	if err != nil || len(ts) != 1 || ts[0].Source != "stdin:2" {
		t.Fatalf("stdin: %v %+v", err, ts)
	}
	// error names file and line, nothing half-parsed
	_, err = ParseTargetList(strings.NewReader("127.0.0.1:443\n\n  # ok\nhost:99999\n"), "fleet.txt")
	if err == nil || !strings.Contains(err.Error(), "fleet.txt:4") {
		t.Fatalf("want error at fleet.txt:4, got %v", err)
	}
	for _, empty := range []string{"", "# only a comment\n\n"} {
		if _, err := ParseTargetList(strings.NewReader(empty), "empty.txt"); err == nil || !strings.Contains(err.Error(), "empty.txt: no targets") {
			t.Errorf("empty list %q: %v", empty, err)
		}
	}
	if _, err := ReadTargetFile("testdata/does-not-exist", nil); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestInventory(t *testing.T) {
	ts, err := ReadInventory("testdata/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 {
		t.Fatalf("got %d targets", len(ts))
	}
	db, web := ts[0], ts[1]
	if db.Service != "orders-db" || db.Owner != "payments" || db.StartTLS != ProtoPostgres || db.Tags["data_lifetime"] != "10y" || db.Tags["sensitivity"] != "high" {
		t.Errorf("db entry: %+v", db)
	}
	if web.Owner != "platform" || web.StartTLS != ProtoNone || web.Tags["sensitivity"] != "medium" || web.Tags["data_lifetime"] != "30d" || web.Port != 443 {
		t.Errorf("web entry (defaults merged): %+v", web)
	}
	for doc, want := range map[string]string{
		"":                             "empty inventory",
		"endpoints: []\n":              "no endpoints",
		"endpoint:\n  - target: a:1\n": "inv.yaml:1: unknown key \"endpoint\": use defaults or endpoints",
		// The typo's own line, one line of text, no Go type names.
		"endpoints:\n  - target: a:1\n\n    servce: x\n":      "inv.yaml:4: endpoints[0]: unknown key \"servce\": use target, host, port",
		"defaults:\n  ownr: x\nendpoints:\n  - target: a:1\n": "inv.yaml:2: defaults: unknown key \"ownr\"",
		"endpoints:\n  - target: a:1\n    port: abc\n":        "inv.yaml:3: endpoints[0]: `abc`: want a number",
		"endpoints: 3\n":               "inv.yaml:1: endpoints is a list",
		"x: [\n":                       "inv.yaml:1: did not find expected node content",
		"endpoints:\n  - service: x\n": "neither target",
		"endpoints:\n  - target: a:1\n  - target: b:99999\n":                "inv.yaml:3",
		"endpoints:\n  - target: a:1\n    tags: {data_lifetime: forever}\n": "bad data_lifetime",
		"endpoints:\n  - target: a:1\n    tags: {sensitivity: hgih}\n":      "unknown sensitivity \"hgih\"",
	} {
		_, err := ParseInventory(strings.NewReader(doc), "inv.yaml")
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "scan.") {
			t.Errorf("inventory %q: error %v, want %q", doc, err, want)
		}
	}
}

func TestResolveEveryAddress(t *testing.T) {
	r := fakeResolver{"multi.test": {netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.1")}}
	ts, _ := ParseTarget("multi.test:443", "arg 1")
	out, err := Resolve(context.Background(), ts, r)
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, o := range out {
		ips = append(ips, o.IP)
		if o.ServerName != "multi.test" {
			t.Errorf("SNI %q, want the name", o.ServerName)
		}
	}
	if strings.Join(ips, ",") != "127.0.0.1,127.0.0.2,::1" {
		t.Errorf("addresses %v, want sorted unique IPv4 first", ips)
	}
	bad, _ := ParseTarget("nope.test:443", "fleet.txt:3")
	if _, err := Resolve(context.Background(), bad, r); err == nil || !strings.Contains(err.Error(), "fleet.txt:3") {
		t.Errorf("unresolvable: %v", err)
	}
	// ResolveEach keeps the fleet going: the bad name stays unresolved and
	// ScanOne reports it.
	both := append(ts, bad...)
	each := ResolveEach(context.Background(), both, r)
	if len(each) != 4 || each[3].IP != "" || each[3].Host != "nope.test" {
		t.Fatalf("ResolveEach: %+v", each)
	}
	res, err := ScanOne(context.Background(), Target{Input: "x", Host: "nope.invalid", Port: 443}, Options{Timeout: time.Second})
	if err != nil || res.Verdict != VerdictUnreachable || res.Reason != "dns" || res.Connections != 0 {
		t.Errorf("unresolvable name: %+v %v", res, err)
	}
}

func TestPriority(t *testing.T) {
	mk := func(v Verdict, proto string, tags map[string]string) Priority {
		r := Result{Verdict: v, Target: Target{Protocol: proto, Tags: tags}}
		return Prioritize(&r)
	}
	hi := map[string]string{"data_lifetime": "10y", "sensitivity": "high"}
	if p := mk(VerdictClassical, "", hi); p.Score != 100 || p.Level != "critical" {
		t.Errorf("classical 10y high: %+v", p)
	}
	if p := mk(VerdictPQReady, "", hi); p.Level != "low" || p.Score != 5 {
		t.Errorf("pq_ready: %+v", p)
	}
	if a, b := mk(VerdictClassical, "postgres", nil), mk(VerdictClassical, "https", nil); a.Score <= b.Score {
		t.Errorf("database without tags should outrank web: %+v vs %+v", a, b)
	}
	if a, b := mk(VerdictPQCapable, "", hi), mk(VerdictClassical, "", hi); a.Score >= b.Score {
		t.Errorf("pq_capable should rank below classical: %+v vs %+v", a, b)
	}
	if p := mk(VerdictTimeout, "", hi); p.Level != "unknown" || p.Score != 0 {
		t.Errorf("timeout: %+v", p)
	}
	for in, want := range map[string]float64{"10y": 10, "18m": 1.5, "365d": 1, "5": 5} {
		if got, err := ParseLifetime(in); err != nil || got < want-0.01 || got > want+0.01 {
			t.Errorf("ParseLifetime(%q) = %v, %v", in, got, err)
		}
	}
}

func TestFailOn(t *testing.T) {
	rs := []Result{{Verdict: VerdictPQReady}, {Verdict: VerdictPQCapable}, {Verdict: VerdictClassical}, {Verdict: VerdictTimeout},
		{Verdict: VerdictPQReady, Groups: []GroupResult{{Name: "X25519Kyber768Draft00", Kind: "draft"}}}}
	count := func(c string) int {
		conds, err := ParseFailOn(c)
		if err != nil {
			t.Fatal(err)
		}
		off, _ := Offenders(rs, conds)
		return len(off)
	}
	for c, want := range map[string]int{"not-ready": 3, "classical": 1, "error": 1, "draft": 1, "pq_capable": 1, "classical,error": 2, "": 0} {
		if got := count(c); got != want {
			t.Errorf("--fail-on %q: %d offenders, want %d", c, got, want)
		}
	}
	if _, err := ParseFailOn("nope"); err == nil || !strings.Contains(err.Error(), "not-ready") {
		t.Errorf("bad condition: %v", err)
	}
}

// TestExamples parses the example target list and inventory that the docs
// show (no connection, no resolution).
func TestExamples(t *testing.T) {
	specs, err := ReadTargetFile("../examples/fleet.txt", nil)
	ts := expand(t, specs)
	if err != nil || len(ts) != 12 || ts[1].StartTLS != ProtoPostgres || ts[2].Port != 587 {
		t.Fatalf("examples/fleet.txt: %v %+v", err, ts)
	}
	inv, err := ReadInventory("../examples/fleet.yaml")
	if err != nil || len(inv) != 4 {
		t.Fatalf("examples/fleet.yaml: %v %+v", err, inv)
	}
	if inv[0].StartTLS != ProtoPostgres || inv[0].Tags["data_lifetime"] != "10y" || inv[2].Port != 9093 || inv[2].StartTLS != ProtoNone || inv[3].StartTLS != ProtoSMTP || inv[1].Owner != "platform-team" {
		t.Errorf("inventory entries: %+v", inv)
	}
}

func TestParseEndpoint(t *testing.T) {
	if tg, err := ParseEndpoint("postgres://db:5433"); err != nil || tg.Port != 5433 || tg.StartTLS != ProtoPostgres {
		t.Errorf("%+v %v", tg, err)
	}
	for _, bad := range []string{"10.0.0.0/31:443", "db", "tls://10.0.0.0/30:443"} {
		if _, err := ParseEndpoint(bad); err == nil {
			t.Errorf("%q accepted as one endpoint", bad)
		}
	}
}

// TestResolveHasDeadline: a DNS lookup is a network step and gets one, even
// under a context without a deadline.
func TestResolveHasDeadline(t *testing.T) {
	ts, _ := ParseTarget("db.test:5432", "arg 1")
	if _, err := Resolve(context.Background(), ts, deadlineResolver{}); err != nil {
		t.Error(err)
	}
}
