package exporter

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
)

// observeNode is `pqtls observe --log nginx -r - --serve ADDR`, the real
// binary, standing for the observe DaemonSet's pod on one node: nginx log
// lines written to its standard input become
// tls_handshake_group_total{role="observed"} on its /metrics, which
// Prometheus scrapes with the shipped observe scrape configuration.
type observeNode struct {
	name, addr string
	stdin      io.WriteCloser
}

// observeLogFormat is the nginx log_format the nodes' lines follow.
const observeLogFormat = `$remote_addr $ssl_protocol $ssl_curve`

// startObserveNode starts one observe process for node name; its standard
// input stays open (a live stream) until the test ends.
func startObserveNode(t *testing.T, bin, name string) *observeNode {
	t.Helper()
	n := &observeNode{name: name, addr: fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))}
	cmd := exec.Command(bin, "observe", "--log", "nginx", "--log-format", observeLogFormat, "-r", "-",
		"--serve", n.addr, "--format", "prom", "--output", os.DevNull)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	var err error
	if n.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		n.stdin.Close() // end of stream: observe prints its report and exits
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	if err := testpeer.WaitTCP(n.addr, nil, 30*time.Second); err != nil {
		t.Fatalf("pqtls observe --serve %s (node %s): %v\n%s", n.addr, name, err, stderr.String())
	}
	return n
}

// log writes hybrid X25519MLKEM768 lines (nginx on OpenSSL 3.5 logs the
// group as 0x11ec) and classical X25519 lines.
func (n *observeNode) log(t *testing.T, hybrid, classical int) {
	t.Helper()
	var b strings.Builder
	for range hybrid {
		b.WriteString("10.0.0.7 TLSv1.3 0x11ec\n")
	}
	for range classical {
		b.WriteString("10.0.0.8 TLSv1.3 X25519\n")
	}
	if _, err := io.WriteString(n.stdin, b.String()); err != nil {
		t.Fatalf("observe node %s: %v", n.name, err)
	}
}

// observeJob is the scrape job of deploy/prometheus/observe-scrape.yml
// (name and relabelling as shipped) with the nodes as targets: each target
// carries the Kubernetes pod metadata that kubernetes_sd would give the
// DaemonSet's pod on that node, so the shipped relabelling produces the
// node label.
func observeJob(t *testing.T, nodes ...*observeNode) testpeer.PrometheusJob {
	t.Helper()
	jobs := shippedJobs(t, "observe-scrape.yml")
	if len(jobs) != 1 {
		t.Fatalf("observe-scrape.yml: %d scrape configs, want 1", len(jobs))
	}
	job := jobOf(t, jobs[0])
	for _, n := range nodes {
		job.StaticConfigs = append(job.StaticConfigs, map[string]any{"targets": []string{n.addr}, "labels": map[string]string{
			"__meta_kubernetes_pod_node_name":                    n.name,
			"__meta_kubernetes_pod_label_app_kubernetes_io_name": "pqtls-observe",
			"__meta_kubernetes_pod_container_port_name":          "metrics",
		}})
	}
	return job
}
