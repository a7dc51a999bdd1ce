package scan

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestMaxEndpointsBeforeExpanding: 8 ranges of /16 (524,288 endpoints) are
// refused by counting, not by expanding them (the hardening review saw
// 2.9 GB allocated).
func TestMaxEndpointsBeforeExpanding(t *testing.T) {
	var lines []string
	for i := range 8 {
		lines = append(lines, "127."+string(rune('0'+i))+".0.0/16:443")
	}
	specs, err := ParseTargetList(strings.NewReader(strings.Join(lines, "\n")), "big.txt")
	if err != nil {
		t.Fatal(err)
	}
	var lerr *LimitError
	allocs := testing.AllocsPerRun(3, func() {
		_, err = Expand(specs, Options{}, Shard{}, DefaultMaxEndpoints)
	})
	if !errors.As(err, &lerr) || lerr.Count != 8*65536 || !strings.Contains(err.Error(), "524288 endpoints exceed the limit of 65536") {
		t.Fatalf("error %v, want a LimitError for 524288 endpoints", err)
	}
	if allocs > 20 {
		t.Errorf("%v allocations to refuse the fleet: it was expanded", allocs)
	}
	// A range of 2^64 and more saturates instead of overflowing.
	sp, err := ParseSpec("[fd00::/56]:443,8443", "arg 1")
	if err != nil || sp.Count() != 1<<63-1+1<<63 {
		t.Fatalf("count of a /56 with 2 ports: %d %v", sp.Count(), err)
	}
	if _, err := Expand([]Spec{sp}, Options{}, Shard{K: 1, N: 4}, 1000); !errors.As(err, &lerr) || !strings.Contains(err.Error(), "in shard 1/4") {
		t.Fatalf("sharded IPv6 /56: %v", err)
	}
	// At the limit exactly: accepted.
	sp, _ = ParseSpec("127.0.0.0/24:443,8443", "arg 1")
	if ts, err := Expand([]Spec{sp}, Options{}, Shard{}, 512); err != nil || len(ts) != 512 || ts[1].Port != 8443 || ts[511].IP != "127.0.0.255" {
		t.Fatalf("512 endpoints at a limit of 512: %d %v", len(ts), err)
	}
}

func TestParseShard(t *testing.T) {
	if sh, err := ParseShard(" 3/4 "); err != nil || sh != (Shard{3, 4}) || sh.String() != "3/4" {
		t.Errorf("3/4: %+v %v", sh, err)
	}
	for _, bad := range []string{"0/4", "5/4", "1/0", "-1/4", "a/b", "4", "1/4/2", ""} {
		if _, err := ParseShard(bad); err == nil || !strings.Contains(err.Error(), "K/N") && !strings.Contains(err.Error(), "1 to N") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestShardPartition: N shards cover every endpoint exactly once, the
// partition does not depend on the input order, and the limit is counted
// after sharding.
func TestShardPartition(t *testing.T) {
	var specs []Spec
	for _, in := range []string{"127.0.0.0/22:443,8443", "db.test:5432", "postgres://db.test:5432", "mx.test:25", "[::1]:443", "127.0.0.1:443"} {
		sp, err := ParseSpec(in, "arg")
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, sp)
	}
	all, err := Expand(specs, Options{}, Shard{}, 0)
	if err != nil || len(all) != 2053 {
		t.Fatalf("%d endpoints, %v", len(all), err)
	}
	// Unsharded the fleet is over a limit of 1000; each quarter is not.
	if _, err := Expand(specs, Options{}, Shard{}, 1000); err == nil {
		t.Fatal("2053 endpoints accepted under a limit of 1000")
	}
	key := func(t Target) string { return t.Address() + "|" + string(t.StartTLS) + "|" + t.ServerName }
	seen := map[string]int{}
	shuffled := slices.Clone(specs)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for k := 1; k <= 4; k++ {
		part, err := Expand(specs, Options{}, Shard{k, 4}, 1000)
		if err != nil {
			t.Fatalf("shard %d/4: %v", k, err)
		}
		if len(part) < 400 || len(part) > 620 {
			t.Errorf("shard %d/4 has %d of 2053 endpoints", k, len(part))
		}
		other, _ := Expand(shuffled, Options{}, Shard{k, 4}, 1000)
		a, b := keys(part, key), keys(other, key)
		if !slices.Equal(a, b) {
			t.Errorf("shard %d/4 depends on the input order", k)
		}
		for _, kk := range a {
			seen[kk]++
		}
	}
	want := map[string]int{} // 127.0.0.1:443 is given twice: twice in one shard
	for _, tg := range all {
		want[key(tg)]++
	}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("%s: %d times in the shards, %d in the fleet", k, seen[k], n)
		}
	}
	// db.test:5432 auto-resolves to postgres: the same endpoint key as
	// postgres://db.test:5432, so both go to the same shard.
	a, b := Target{Host: "db.test", Port: 5432, ServerName: "db.test"}, Target{Host: "db.test", Port: 5432, ServerName: "db.test", StartTLS: ProtoPostgres}
	for k := 1; k <= 4; k++ {
		if (Shard{k, 4}).Has(a, &Options{}) != (Shard{k, 4}).Has(b, &Options{}) {
			t.Error("auto STARTTLS and its resolved protocol hash differently")
		}
	}
}

func keys(ts []Target, key func(Target) string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = key(t)
	}
	slices.Sort(out)
	return out
}

func TestParseFormat(t *testing.T) {
	for _, in := range []string{"json", " JSON ", "Csv"} {
		if f, err := ParseFormat(in); err != nil || f.Name != strings.ToLower(strings.TrimSpace(in)) || f.Write == nil {
			t.Errorf("%q: %+v %v", in, f.Name, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "use table, json, csv, html, cbom") {
		t.Errorf("xml: %v", err)
	}
}
