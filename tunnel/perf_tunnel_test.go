package tunnel

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls/bench"
	"github.com/pqtls/pqtls/internal/testpki"
)

// TestPerfServeProfile runs one server in this process under load from a
// separate `pqtls bench` process, so that `go test -cpuprofile` profiles
// the server alone and the process CPU per operation excludes the load
// generator (docs/PERFORMANCE.md, issue 19). It is a measuring tool, not a
// check: it skips unless PQTLS_PERF_BENCH names a pqtls binary, and it
// asserts no timing.
//
//	go build -o /tmp/pqtls ./cmd/pqtls
//	PQTLS_PERF_BENCH=/tmp/pqtls PQTLS_PERF_SERVER=tunnel PQTLS_PERF_MODE=handshake \
//	  go test -run '^TestPerfServeProfile$' -count=1 -v -cpuprofile hs.cpu ./tunnel
//
// PQTLS_PERF_SERVER: tunnel (server tunnel, info-level text log to a
// buffered file as the CLI writes it) or bare (crypto/tls echo server).
// PQTLS_PERF_MODE: handshake or throughput. PQTLS_PERF_BACKEND: the
// tunnel's plaintext target (default: an echo server in this process,
// which the profile then includes). PQTLS_PERF_DURATION (default 10s),
// PQTLS_PERF_C (concurrency, default 4 for handshakes, 2 for throughput).
func TestPerfServeProfile(t *testing.T) {
	bin := os.Getenv("PQTLS_PERF_BENCH")
	if bin == "" {
		t.Skip("PQTLS_PERF_BENCH (a pqtls binary) not set: a measuring tool, not a check")
	}
	server, mode := perfEnv("PQTLS_PERF_SERVER", "tunnel"), perfEnv("PQTLS_PERF_MODE", "handshake")
	conc := perfEnv("PQTLS_PERF_C", map[bool]string{true: "4", false: "2"}[mode == "handshake"])
	dir := t.TempDir()
	ca := testpki.NewCA(t)
	caPath := ca.WriteCertFile(t, dir)
	cert := ca.Server(t, testpki.CertOptions{})
	files := cert.WriteFiles(t, dir)

	var addr string
	switch server {
	case "bare":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := bench.NewEchoServer(ln, &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS13})
		t.Cleanup(func() { s.Close() })
		addr = ln.Addr().String()
	case "tunnel":
		backend := os.Getenv("PQTLS_PERF_BACKEND")
		if backend == "" {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			s := bench.NewEchoServer(ln, nil)
			t.Cleanup(func() { s.Close() })
			backend = ln.Addr().String()
		}
		logFile, err := os.Create(filepath.Join(dir, "tunnel.log"))
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriterSize(logFile, 64<<10)
		t.Cleanup(func() { _ = w.Flush(); _ = logFile.Close() })
		tu, err := Start(t.Context(), Config{Listeners: []ListenerConfig{{Mode: ModeServer, Listen: "127.0.0.1:0", Target: backend,
			Cert: files.Cert, Key: files.Key, MaxConnections: 20000}}},
			Options{Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(w, nil)), NoWatch: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tu.Close() })
		addr = tu.Listeners()[0].Addr().String()
	default:
		t.Fatalf("PQTLS_PERF_SERVER=%q: want tunnel or bare", server)
	}

	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := processCPU(t)
	cmd := exec.Command(bin, "bench", "--format", "json", "--ca", caPath, "--server-name", "localhost",
		"--target", addr, "--mode", mode, "-c", conc, "--duration", perfEnv("PQTLS_PERF_DURATION", "10s"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	cpu := processCPU(t) - cpu0
	runtime.ReadMemStats(&ms1)
	var res bench.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("server %s, mode %s, c=%s: %d operations, %d errors, %.0f/s, load %s", server, mode, conc, res.Operations, res.Errors, res.Rate, load[:min(len(load), 14)])
	per := fmt.Sprintf("%.3f ms per operation", cpu.Seconds()*1000/float64(max(res.Operations, 1)))
	if res.EchoedBytes > 0 {
		per = fmt.Sprintf("%.3f s per GiB echoed", cpu.Seconds()/(float64(res.EchoedBytes)/(1<<30)))
	}
	t.Logf("process CPU %.3f s, %s; GCs %d (%.2f per 1000 ops), %.1f KiB allocated per op",
		cpu.Seconds(), per, ms1.NumGC-ms0.NumGC, float64(ms1.NumGC-ms0.NumGC)*1000/float64(max(res.Operations, 1)),
		float64(ms1.TotalAlloc-ms0.TotalAlloc)/1024/float64(max(res.Operations, 1)))
}

func perfEnv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// processCPU is this process's user+system CPU time.
func processCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestPipeEndReleasesTLSBuffers checks that the copy loop of a TLS side
// hands crypto/tls's input buffer back when it ends: a connection that
// closes while data is in flight held the pooled 72 KiB array at EOF, and it
// went to the garbage collector with the connection instead of back to the
// pool (about 7 KiB allocated per handshake-only connection in the
// handshake benchmark, a full array per connection that moved data).
func TestPipeEndReleasesTLSBuffers(t *testing.T) {
	client, server, rc := tlsPair(t)
	src := newEndpoint(server, server.NetConn(), server, rc)
	if src.bufs == nil {
		t.Skip("crypto/tls read buffers not found (TestTLSBuffersFound reports it)")
	}
	toTarget, sink := net.Pipe()
	received := make(chan int64, 1)
	go func() { n, _ := io.Copy(io.Discard, sink); received <- n }()
	const size = 1 << 20
	go func() {
		_, _ = client.Write(make([]byte, size))
		_ = client.CloseWrite()
		_ = client.NetConn().(*net.TCPConn).CloseWrite()
	}()
	var last atomic.Int64
	err := pipe(src, newEndpoint(toTarget, toTarget, nil, nil), time.Minute, &last, func(int) {})
	_ = toTarget.Close()
	if err != nil {
		t.Fatalf("pipe: %v", err)
	}
	if n := <-received; n != size {
		t.Fatalf("target received %d bytes, want %d", n, size)
	}
	if c := src.bufs.raw.Cap(); c != 0 {
		t.Errorf("crypto/tls still holds a %d-byte input buffer after the copy loop ended", c)
	}
	if src.bufs.input.Size() != 0 || src.bufs.hand.Cap() != 0 {
		t.Error("crypto/tls's input reader or handshake buffer kept after the copy loop ended")
	}
}
