package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/scan"
)

// TestScanShardScale (PQTLS_SCALE_ENDPOINTS=10000 go test -run
// TestScanShardScale ./cmd/pqtls -v) scans N loopback endpoints (listeners
// on 127.0.0.1-100, alternately hybrid and classical) once with one
// process and once as 4 shard processes of the real binary run side by
// side, merges the shards and checks the merged report equals the single
// run endpoint by endpoint. It logs both wall times (docs/PERFORMANCE.md).
func TestScanShardScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PQTLS_SCALE_ENDPOINTS"))
	if n == 0 {
		t.Skip("set PQTLS_SCALE_ENDPOINTS (e.g. 10000)")
	}
	cfgs := map[string]*tls.Config{}
	for _, mode := range []string{"prefer", "classical"} {
		pol, _, _ := pqtls.ParsePolicy(mode, "", "")
		cert := serverCertForScale(t)
		cfg, err := pqtls.ServerConfig(pqtls.Options{Policy: pol, Base: &tls.Config{Certificates: []tls.Certificate{cert}}})
		if err != nil {
			t.Fatal(err)
		}
		cfgs[mode] = cfg
	}
	var fleet []string
	for i := range n {
		mode := "prefer"
		if i%2 == 1 {
			mode = "classical"
		}
		ln, err := tls.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", 1+i%100), cfgs[mode])
		if err != nil {
			t.Fatalf("listener %d: %v", i, err)
		}
		testpeer.Serve(t, ln, 10*time.Second, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		fleet = append(fleet, ln.Addr().String())
	}
	dir := t.TempDir()
	fleetFile := filepath.Join(dir, "fleet.txt")
	os.WriteFile(fleetFile, []byte(strings.Join(fleet, "\n")+"\n"), 0o644)
	exe, _ := os.Executable()
	bin := filepath.Join(dir, "pqtls")
	os.Symlink(exe, bin)
	runBin := func(args ...string) error {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %v: %s", args, err, out)
		}
		return nil
	}
	base := []string{"scan", "--quick", "--timeout", "30s", "--progress", "never", "--format", "json", "-f", fleetFile}
	start := time.Now()
	if err := runBin(append(base, "-o", filepath.Join(dir, "one.json"))...); err != nil {
		t.Fatal(err)
	}
	oneTime := time.Since(start)
	start = time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for k := 1; k <= 4; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runBin(append(base, "--shard", fmt.Sprintf("%d/4", k), "-o", filepath.Join(dir, fmt.Sprintf("s%d.json", k)))...); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	shardTime := time.Since(start)
	args := []string{"scan", "merge", "-o", filepath.Join(dir, "merged.json")}
	for k := 1; k <= 4; k++ {
		args = append(args, filepath.Join(dir, fmt.Sprintf("s%d.json", k)))
	}
	if err := runBin(args...); err != nil {
		t.Fatal(err)
	}
	one, err := scan.ReadReport(filepath.Join(dir, "one.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := scan.ReadReport(filepath.Join(dir, "merged.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[scan.EndpointKey]scan.Verdict{}
	for _, r := range one.Endpoints {
		want[r.Key()] = r.Verdict
	}
	mismatch := 0
	for _, r := range merged.Endpoints {
		if want[r.Key()] != r.Verdict {
			mismatch++
		}
		delete(want, r.Key())
	}
	if len(merged.Endpoints) != n || len(want) != 0 || mismatch != 0 || merged.Summary.Verdicts["pq_ready"] != n/2+n%2 || merged.Summary.Verdicts["classical"] != n/2 {
		t.Errorf("merged: %d endpoints, %d missing, %d verdicts differ, summary %v", len(merged.Endpoints), len(want), mismatch, merged.Summary.Verdicts)
	}
	t.Logf("%d endpoints: one process %s, 4 shards side by side %s (ratio %.2f); merged report: %d endpoints, %d pq_ready, %d classical, %d differences from the single run",
		n, oneTime.Round(time.Millisecond), shardTime.Round(time.Millisecond), shardTime.Seconds()/oneTime.Seconds(), len(merged.Endpoints),
		merged.Summary.Verdicts["pq_ready"], merged.Summary.Verdicts["classical"], mismatch+len(want))
}

func serverCertForScale(t *testing.T) tls.Certificate {
	t.Helper()
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "certs", "dev", "--out", dir); code != 0 {
		t.Fatal(errOut)
	}
	c, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
