package latency

import (
	"testing"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted input
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := Summarize(ds)
	want := Summary{Samples: 100, P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5}
	if s != want {
		t.Fatalf("Summarize = %+v, want %+v", s, want)
	}
	if ds[0] != 100*time.Millisecond {
		t.Fatal("Summarize sorted its input in place")
	}
	if got := Summarize([]time.Duration{3 * time.Millisecond}); got.P50 != 3 || got.P99 != 3 || got.Samples != 1 {
		t.Fatalf("one sample: %+v", got)
	}
	if (Summarize(nil) != Summary{}) {
		t.Fatal("empty input must give the zero summary")
	}
}
