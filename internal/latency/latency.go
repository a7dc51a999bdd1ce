// Package latency summarises a set of measured durations the same way
// everywhere pqtls reports latency (pqtls bench, pqtls canary): nearest-rank
// percentiles, in milliseconds.
package latency

import (
	"math"
	"slices"
	"time"
)

// Summary is the JSON form of a latency distribution.
type Summary struct {
	// Samples is the number of durations summarised.
	Samples int `json:"samples"`
	// P50, P90 and P99 are nearest-rank percentiles: the smallest sample
	// with at least p % of the samples at or below it (p99 of 100 samples is
	// the 99th, not the maximum).
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	// Max is the slowest sample.
	Max float64 `json:"max_ms"`
	// Mean is the arithmetic mean.
	Mean float64 `json:"mean_ms"`
}

// Summarize returns the summary of ds; ds is not modified. An empty ds gives
// the zero Summary.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Summary{
		Samples: len(s),
		P50:     MS(Percentile(s, 50)),
		P90:     MS(Percentile(s, 90)),
		P99:     MS(Percentile(s, 99)),
		Max:     MS(s[len(s)-1]),
		Mean:    MS(sum / time.Duration(len(s))),
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, or 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// MS converts a duration to milliseconds with microsecond resolution.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
