package yamlstrict

import (
	"strings"
	"testing"
)

type item struct {
	Name  string   `yaml:"name"`
	Port  int      `yaml:"port"`
	On    bool     `yaml:"on"`
	Names []string `yaml:"names"`
}

type doc struct {
	Items []item `yaml:"items"`
	Title string `yaml:"title"`
}

func TestDecodeErrorsNameFileLineAndKey(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"typo", "title: x\nitems:\n  - name: a\n    prot: 1\n", `c.yaml:4: unknown field "prot" (valid: names, on, port, name)`},
		{"wrong kind", "items:\n  - port: abc\n", `c.yaml:2: port: "abc" is not a whole number`},
		{"bool", "items:\n  - on: maybe\n", `c.yaml:2: on: "maybe" is not true or false`},
		{"list wanted", "items: x\n", `c.yaml:1: items: want a list, got a single value`},
		{"scalar wanted", "title: [a]\n", `c.yaml:1: title: want a string, got a list`},
		{"twice", "title: a\ntitle: b\n", `c.yaml:2: "title" is given twice`},
		{"second document", "title: a\n---\ntitle: b\n", `c.yaml:2: a second YAML document`},
		{"syntax", "title: a\n  b: c\n", `c.yaml:2: `},
		{"empty", "", `c.yaml: empty file`},
		{"top level list", "- a\n", `c.yaml:1: the file: want a mapping`},
	} {
		var d doc
		_, err := Decode([]byte(c.yaml), "c.yaml", &d)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		msg := err.Error()
		// The valid list is sorted; the want above spells the prefix only.
		if c.name == "typo" {
			c.want = `c.yaml:4: unknown field "prot" (valid: name, names, on, port)`
		}
		if !strings.HasPrefix(msg, c.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "yamlstrict.") || strings.Contains(msg, "!!") {
			t.Errorf("%s: error %q, want one line starting %q and no Go or YAML type names", c.name, msg, c.want)
		}
	}
}

func TestDecodeReportsEveryProblemAndLines(t *testing.T) {
	var d doc
	lines, err := Decode([]byte("items:\n  - name: a\n    prot: 1\n  - name: b\n    port: x\n"), "c.yaml", &d)
	if err == nil || strings.Count(err.Error(), "\n") != 1 || !strings.Contains(err.Error(), "c.yaml:3:") || !strings.Contains(err.Error(), "c.yaml:5:") {
		t.Fatalf("want both problems on their own lines, got %v", err)
	}
	if lines["items[1]"] != 4 || lines["items[1].port"] != 5 || lines["items[0].name"] != 2 {
		t.Errorf("lines %v", lines)
	}
	if d.Items[1].Name != "b" {
		t.Errorf("decoded %+v", d)
	}
}

func TestDecodeBoundsNodes(t *testing.T) {
	// Aliases multiply the values a small file holds; the walk stops after
	// maxNodes values whatever their source.
	y := "items:\n  - names: &n [" + strings.Repeat("x, ", 999) + "x]\n"
	for range 110 {
		y += "  - names: *n\n"
	}
	var d doc
	_, err := Decode([]byte(y), "c.yaml", &d)
	if err == nil || !strings.Contains(err.Error(), "too many values") {
		t.Fatalf("want the node bound, got %v", err)
	}
}
