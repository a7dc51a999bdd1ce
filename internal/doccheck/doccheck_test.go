package doccheck

import (
	"slices"
	"testing"
)

type inner struct {
	B string `json:"b"`
	C int    `json:"-"`
}

type outer struct {
	A     string            `json:"a,omitempty"`
	In    *inner            `json:"in"`
	List  []inner           `json:"list"`
	M     map[string]*inner `json:"m"`
	plain int
}

func TestFields(t *testing.T) {
	var got []string
	for _, f := range Fields(outer{}, "json") {
		got = append(got, f.Path+f.Name)
	}
	want := []string{"a", "in", "in.b", "list", "m"}
	if !slices.Equal(got, want) {
		t.Fatalf("Fields = %q, want %q (each struct type walked once)", got, want)
	}
}
