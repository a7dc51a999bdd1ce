package canary

import (
	"math"
	"slices"
	"time"
)

// Latency summarises the latencies of the successful attempts of a case, in
// milliseconds.
type Latency struct {
	// Samples is the number of successful attempts measured.
	Samples int `json:"samples"`
	// P50, P90 and P99 are nearest-rank percentiles.
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	// Max is the slowest successful attempt.
	Max float64 `json:"max_ms"`
	// Mean is the arithmetic mean.
	Mean float64 `json:"mean_ms"`
}

// summarize computes nearest-rank percentiles of ds.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Latency{
		Samples: len(s),
		P50:     ms(percentile(s, 50)),
		P90:     ms(percentile(s, 90)),
		P99:     ms(percentile(s, 99)),
		Max:     ms(s[len(s)-1]),
		Mean:    ms(sum / time.Duration(len(s))),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted s.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// medianInt returns the median of xs (the lower middle for an even count).
func medianInt(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }
