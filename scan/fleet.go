package scan

import (
	"context"
	"sync"
	"time"
)

// ScanAll scans every target with opts.Concurrency workers and at most
// opts.PerHost concurrent endpoint scans per IP address. Results are in the
// order of targets whatever the concurrency. On a canceled context the
// remaining targets get verdict timeout with reason "canceled".
func ScanAll(ctx context.Context, targets []Target, opts Options) []Result {
	results := make([]Result, len(targets))
	workers := opts.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	workers = min(workers, max(len(targets), 1))
	perHost := opts.PerHost
	if perHost == 0 {
		perHost = DefaultPerHost
	}
	var mu sync.Mutex
	hostSem := map[string]chan struct{}{}
	sem := func(host string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		s, ok := hostSem[host]
		if !ok {
			s = make(chan struct{}, perHost)
			hostSem[host] = s
		}
		return s
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	done := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t := targets[i]
				var s chan struct{}
				if perHost > 0 {
					s = sem(firstNonEmpty(t.IP, t.Host))
					select {
					case s <- struct{}{}:
					case <-ctx.Done():
						s = nil
					}
				}
				r, err := ScanOne(ctx, t, opts)
				if s != nil {
					<-s
				}
				if err != nil && r.Verdict == "" {
					// Not started: canceled, or a target ScanOne refuses
					// (no host, port out of range) when built by a caller
					// instead of ParseTarget.
					v, reason := VerdictTimeout, "canceled"
					if ctx.Err() == nil {
						v, reason = VerdictUnreachable, "invalid_target"
					}
					r = Result{Target: t, Address: t.Address(), Verdict: v, Reason: reason, Error: err.Error(), ScannedAt: time.Now().UTC(),
						Versions: []string{}, Groups: []GroupResult{}, ServerPreference: []string{}, TLS12Curves: []string{}, Certificates: []CertInfo{}, Notes: []string{}}
					r.Priority = Prioritize(&r)
				}
				results[i] = r
				if opts.Progress != nil {
					mu.Lock()
					done++
					opts.Progress(done, len(targets))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range targets {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return results
}
