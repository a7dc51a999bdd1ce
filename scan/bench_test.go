package scan

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkScanFleet scans N loopback endpoints (default 1000, env
// PQTLS_SCAN_BENCH_N) served by ONE Node.js 26 process with N listeners
// (OpenSSL 3.5 default groups: 8 TLS 1.3 groups, TLS 1.2), with full
// enumeration, and against the same fleet the quick scan (one default Go
// handshake per endpoint) as the in-run reference. Metrics: s/fleet,
// ms/endpoint, conns/endpoint, and the full/quick ratio.
//
//	go test ./scan -run '^$' -bench ScanFleet -benchtime 1x
func BenchmarkScanFleet(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("PQTLS_SCAN_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	cert := newTestCert(b)
	all, node := startNodeServersCmd(b, cert, nodeServerSpec{Count: n})
	ports := all[0]
	targets := make([]Target, n)
	for i, p := range ports {
		targets[i] = Target{Host: "127.0.0.1", IP: "127.0.0.1", Port: p, ServerName: "localhost"}
	}
	conc := 64
	if v, err := strconv.Atoi(os.Getenv("PQTLS_SCAN_BENCH_CONCURRENCY")); err == nil && v > 0 {
		conc = v
	}
	var clientCPU, serverCPU time.Duration
	scanFleet := func(enum bool) (time.Duration, int, map[Verdict]int) {
		start := time.Now()
		c0, s0 := selfCPU(), procCPU(node.Process.Pid)
		defer func() {
			if enum {
				clientCPU += selfCPU() - c0
				serverCPU += procCPU(node.Process.Pid) - s0
			}
		}()
		res := ScanAll(context.Background(), targets, Options{Enumerate: enum, Timeout: 10 * time.Second, Concurrency: conc, PerHost: -1})
		d := time.Since(start)
		conns := 0
		verdicts := map[Verdict]int{}
		for _, r := range res {
			conns += r.Connections
			verdicts[r.Verdict]++
		}
		return d, conns, verdicts
	}
	b.ResetTimer()
	var full, quick time.Duration
	var conns int
	for i := 0; i < b.N; i++ {
		d, c, v := scanFleet(true)
		if v[VerdictPQReady] != n {
			b.Fatalf("full scan verdicts %v, want %d pq_ready", v, n)
		}
		full += d
		conns += c
		dq, _, _ := scanFleet(false)
		quick += dq
	}
	b.StopTimer()
	fullS := full.Seconds() / float64(b.N)
	b.ReportMetric(fullS, "s/fleet")
	b.ReportMetric(1000*fullS/float64(n), "ms/endpoint")
	b.ReportMetric(float64(conns)/float64(n*b.N), "conns/endpoint")
	b.ReportMetric(full.Seconds()/quick.Seconds(), "full/quick")
	b.ReportMetric(quick.Seconds()/float64(b.N), "quick-s/fleet")
	b.ReportMetric(float64(clientCPU.Milliseconds())/float64(n*b.N), "scanner-cpu-ms/endpoint")
	b.ReportMetric(float64(serverCPU.Milliseconds())/float64(n*b.N), "server-cpu-ms/endpoint")
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns the user+system CPU time of a process (Linux /proc).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(u+st) * time.Second / 100 // USER_HZ
}
