package canary

import (
	"slices"
	"time"

	"github.com/pqtls/pqtls/internal/latency"
)

// Latency summarises the latencies of the successful attempts of a case, in
// milliseconds (nearest-rank percentiles; shared with pqtls bench).
type Latency = latency.Summary

func summarize(ds []time.Duration) Latency { return latency.Summarize(ds) }

// medianInt returns the median of xs (the lower middle for an even count).
func medianInt(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func ms(d time.Duration) float64 { return latency.MS(d) }
