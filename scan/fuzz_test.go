package scan

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParseInventory: any YAML input gives either a one-line error naming
// the file, or endpoints with a host and a valid port, whose count is
// checked against a limit without expanding them.
func FuzzParseInventory(f *testing.F) {
	for _, p := range []string{"testdata/fleet.yaml", "../examples/fleet.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		"endpoints:\n  - target: 10.0.0.0/8:443,8443\n",
		"endpoints:\n  - target: '[fd00::/64]:443'\n    tags: {sensitivity: high}\n",
		"defaults: {port: 5432, protocol: postgres}\nendpoints:\n  - host: db\n  - host: '::1'\n",
		"endpoints:\n  - &a {target: 'a:1'}\n  - *a\n",
		"endpoints:\n  - target: a:1\n    tags: {data_lifetime: 10y}\n    servce: x\n",
		"endpoints: [{host: x, port: 70000}]\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if len(doc) > 64<<10 {
			return
		}
		specs, err := ParseInventory(strings.NewReader(doc), "inv.yaml")
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "inv.yaml") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error not one line naming the file: %q", msg)
			}
			return
		}
		if len(specs) == 0 {
			t.Fatal("no endpoints and no error")
		}
		for _, sp := range specs {
			if sp.Host == "" || sp.Port < 1 || sp.Port > 65535 || sp.Count() == 0 || !strings.HasPrefix(sp.Source, "inv.yaml:") {
				t.Fatalf("bad endpoint %+v", sp)
			}
		}
		ts, err := Expand(specs, Options{}, Shard{}, 4096)
		var lerr *LimitError
		if err != nil && !errors.As(err, &lerr) || len(ts) > 4096 {
			t.Fatalf("expand: %d endpoints, %v", len(ts), err)
		}
	})
}
