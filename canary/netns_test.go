package canary

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"golang.org/x/sys/unix"
)

// Addresses inside the namespaces a topology creates (never routed outside).
const (
	nsClientIP = "10.211.1.2"
	nsRouterC  = "10.211.1.1"
	nsRouterS  = "10.211.2.1"
	nsServerIP = "10.211.2.2"
)

var topoSeq atomic.Int32

// topo is three network namespaces, client -- router -- server, joined by
// veth pairs; faults are injected in the router (or on its links).
type topo struct {
	t                      *testing.T
	client, router, server string
	// link names inside the namespaces
	cIf, rcIf, rsIf, sIf string
}

// newTopo builds the namespaces, or skips the test when that is not
// possible (fails under PQTLS_REQUIRE_PEERS=1). Everything is removed when
// the test ends, passed or failed.
func newTopo(t *testing.T) *topo {
	t.Helper()
	if testing.Short() {
		t.Skip("netns test: needs root and network namespaces")
	}
	if os.Geteuid() != 0 {
		peerMissing(t, "network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		peerMissing(t, "iproute2 'ip': %v", err)
	}
	id := fmt.Sprintf("pqc%d%d", os.Getpid()%100000, topoSeq.Add(1))
	n := &topo{t: t, client: id + "c", router: id + "r", server: id + "s",
		cIf: "eth0", rcIf: "ethc", rsIf: "eths", sIf: "eth0"}
	for _, ns := range []string{n.client, n.router, n.server} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			n.cleanup()
			peerMissing(t, "cannot create network namespace %s: %v: %s", ns, err, out)
		}
	}
	t.Cleanup(n.cleanup)
	n.must("ip", "-n", n.client, "link", "add", n.cIf, "type", "veth", "peer", "name", n.rcIf, "netns", n.router)
	n.must("ip", "-n", n.server, "link", "add", n.sIf, "type", "veth", "peer", "name", n.rsIf, "netns", n.router)
	n.must("ip", "-n", n.client, "addr", "add", nsClientIP+"/24", "dev", n.cIf)
	n.must("ip", "-n", n.router, "addr", "add", nsRouterC+"/24", "dev", n.rcIf)
	n.must("ip", "-n", n.router, "addr", "add", nsRouterS+"/24", "dev", n.rsIf)
	n.must("ip", "-n", n.server, "addr", "add", nsServerIP+"/24", "dev", n.sIf)
	for ns, ifs := range map[string][]string{n.client: {"lo", n.cIf}, n.router: {"lo", n.rcIf, n.rsIf}, n.server: {"lo", n.sIf}} {
		for _, ifc := range ifs {
			n.must("ip", "-n", ns, "link", "set", ifc, "up")
		}
	}
	n.must("ip", "-n", n.client, "route", "add", "default", "via", nsRouterC)
	n.must("ip", "-n", n.server, "route", "add", "default", "via", nsRouterS)
	n.in(n.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	return n
}

func (n *topo) cleanup() {
	for _, ns := range []string{n.client, n.router, n.server} {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
}

// must runs a command and fails the test on error.
func (n *topo) must(args ...string) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		n.t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// in runs a command inside namespace ns.
func (n *topo) in(ns string, args ...string) {
	n.t.Helper()
	n.must(append([]string{"ip", "netns", "exec", ns}, args...)...)
}

// try runs a command inside ns and reports whether it worked.
func (n *topo) try(ns string, args ...string) error {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// inNetns runs fn on an OS thread switched into namespace ns. Sockets fn
// creates (listeners, dialed connections, raw sockets) belong to ns. The
// thread is never unlocked, so it exits with the goroutine and its
// namespace cannot leak to other goroutines.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// listen opens a TCP listener inside the server namespace.
func (n *topo) listen(port int) net.Listener {
	n.t.Helper()
	var ln net.Listener
	err := inNetns(n.server, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(nsServerIP, fmt.Sprint(port)))
		return err
	})
	if err != nil {
		n.t.Fatal(err)
	}
	return ln
}

// canary runs the canary from the client namespace.
func (n *topo) canary(o Options) *Report {
	n.t.Helper()
	if o.Count == 0 {
		o.Count = 3
	}
	if o.PMTU == "" {
		o.PMTU = PMTUOff
	}
	var rep *Report
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := inNetns(n.client, func() (err error) {
		rep, err = Run(ctx, o)
		return err
	})
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Logf("verdict [%s] %s", rep.Verdict.Code, rep.Verdict.Summary)
	for _, c := range rep.Cases {
		n.t.Logf("  %-22s %d/%d %v group %s p50 %.2f p99 %.2f ms", c.Name, c.OK, c.Attempts, c.Classes, c.SelectedGroup, c.Latency.P50, c.Latency.P99)
	}
	n.t.Logf("  path %+v", rep.Path)
	if rep.Path.PMTU != nil {
		n.t.Logf("  pmtu %+v", *rep.Path.PMTU)
	}
	return rep
}

// pqtlsTarget starts a pqtls server (prefer) in the server namespace.
func (n *topo) pqtlsTarget() string {
	return servePQTLS(n.t, n.listen(8443), pqtls.ModePrefer)
}

func TestNetnsCleanPath(t *testing.T) {
	n := newTopo(t)
	targets := map[string]string{"pqtls": n.pqtlsTarget()}
	t.Run("pqtls", func(t *testing.T) {
		rep := n.canary(Options{Target: targets["pqtls"], PMTU: PMTUOn})
		if rep.Verdict.Code != VerdictOK || !rep.Verdict.Safe {
			t.Fatalf("verdict %+v", rep.Verdict)
		}
		if p := rep.Path; p.Interface != n.cIf || p.InterfaceMTU != 1500 || p.MSS != 1448 && p.MSS != 1460 || p.LocalAddr[:len(nsClientIP)] != nsClientIP {
			t.Errorf("path %+v", p)
		}
		if pm := rep.Path.PMTU; pm == nil || pm.Status != PMTUStatusOK || pm.PathMTU != 1500 || pm.BlackHole {
			t.Errorf("pmtu probe %+v", pm)
		}
	})
	t.Run("node", func(t *testing.T) {
		addr := startNode(t, nsServerIP, "ip", "netns", "exec", n.server)
		rep := n.canary(Options{Target: addr})
		if rep.Verdict.Code != VerdictOK || !rep.Verdict.Safe {
			t.Fatalf("verdict %+v", rep.Verdict)
		}
		if c := caseOf(t, rep, CaseFullHybrid); c.SelectedGroup != "X25519MLKEM768" {
			t.Errorf("Node negotiated %q", c.SelectedGroup)
		}
	})
}

func TestNetnsPMTUBlackHole(t *testing.T) {
	n := newTopo(t)
	// The router's link towards the server has MTU 1280 while both hosts
	// keep 1500, and the router's ICMP fragmentation-needed never leaves it.
	n.must("ip", "-n", n.router, "link", "set", n.rsIf, "mtu", "1280")
	n.in(n.router, "iptables", "-A", "OUTPUT", "-p", "icmp", "--icmp-type", "fragmentation-needed", "-j", "DROP")
	n.in(n.router, "iptables", "-A", "FORWARD", "-p", "icmp", "--icmp-type", "fragmentation-needed", "-j", "DROP")
	addr := n.pqtlsTarget()
	rep := n.canary(Options{Target: addr, Count: 2, Timeout: 1500 * time.Millisecond, SplitPause: 20 * time.Millisecond, PMTU: PMTUOn})
	if rep.Verdict.Code != VerdictLargeHelloDropped || rep.Verdict.Safe {
		t.Fatalf("verdict %+v", rep.Verdict)
	}
	if c := caseOf(t, rep, CaseClassical); c.OK != 2 {
		t.Errorf("classical %v", c.Classes)
	}
	if c := caseOf(t, rep, CaseHybrid); c.Classes[ClassTimeout] != 2 {
		t.Errorf("hybrid %v", c.Classes)
	}
	pm := rep.Path.PMTU
	if pm == nil || pm.Status != PMTUStatusOK || pm.PathMTU != 1280 || pm.SmallestLost != 1281 || !pm.BlackHole {
		t.Fatalf("pmtu probe %+v, want path MTU 1280 and a black hole", pm)
	}
	if !strings.Contains(strings.Join(rep.Verdict.Advice, "\n"), "path MTU of 1280") {
		t.Errorf("advice does not cite the probe: %q", rep.Verdict.Advice)
	}
}

func TestNetnsMiddleboxDropsLargePackets(t *testing.T) {
	n := newTopo(t)
	n.in(n.router, "iptables", "-A", "FORWARD", "-m", "length", "--length", "1401:65535", "-j", "DROP")
	addr := n.pqtlsTarget()
	rep := n.canary(Options{Target: addr, Count: 2, Timeout: 1500 * time.Millisecond, SplitPause: 20 * time.Millisecond, PMTU: PMTUOn})
	if rep.Verdict.Code != VerdictLargeHelloDropped || rep.Verdict.Safe {
		t.Fatalf("verdict %+v", rep.Verdict)
	}
	if c := caseOf(t, rep, CaseFullClassical); c.OK != 2 {
		t.Errorf("classical handshake %v", c.Classes)
	}
	if pm := rep.Path.PMTU; pm == nil || pm.PathMTU != 1400 || !pm.BlackHole {
		t.Errorf("pmtu probe %+v, want 1400", pm)
	}
}

func TestNetnsSingleReadServer(t *testing.T) {
	n := newTopo(t)
	addr := serveFault(t, n.listen(8443), faultSingleRead)
	rep := n.canary(Options{Target: addr})
	if rep.Verdict.Code != VerdictSplitHelloReset || rep.Verdict.Safe {
		t.Fatalf("verdict %+v", rep.Verdict)
	}
	if c := caseOf(t, rep, CaseHybridSplitTCP); c.Classes[ClassReset] != c.Attempts {
		t.Errorf("split-tcp %v", c.Classes)
	}
	if c := caseOf(t, rep, CaseFullClassical); c.OK != c.Attempts {
		t.Errorf("classical handshake %v", c.Classes)
	}
}

func TestNetnsMSSClamp536(t *testing.T) {
	n := newTopo(t)
	n.in(n.router, "iptables", "-t", "mangle", "-A", "FORWARD", "-p", "tcp", "--tcp-flags", "SYN,RST", "SYN", "-j", "TCPMSS", "--set-mss", "536")
	addr := n.pqtlsTarget()
	rep := n.canary(Options{Target: addr})
	if rep.Verdict.Code != VerdictOK || !rep.Verdict.Safe {
		t.Fatalf("verdict %+v", rep.Verdict)
	}
	if rep.Path.MSS > 536 || rep.Path.MSS < 400 {
		t.Errorf("MSS %d, want <= 536 after clamping", rep.Path.MSS)
	}
	if !strings.Contains(strings.Join(rep.Verdict.Warnings, "\n"), "TCP MSS is") {
		t.Errorf("warnings %q do not mention the small MSS", rep.Verdict.Warnings)
	}
}

func TestNetnsDelayAndLoss(t *testing.T) {
	n := newTopo(t)
	const delay = 20 * time.Millisecond
	netem := true
	for _, ifc := range []string{n.rcIf, n.rsIf} {
		if err := n.try(n.router, "tc", "qdisc", "add", "dev", ifc, "root", "netem", "delay", "20ms", "loss", "1%"); err != nil {
			netem = false
			t.Logf("netem unavailable (%v): emulating with a 2 Mbit/s token bucket and 1%% random loss", err)
			break
		}
	}
	if !netem {
		for _, ifc := range []string{n.rcIf, n.rsIf} {
			_ = n.try(n.router, "tc", "qdisc", "del", "dev", ifc, "root")
			n.in(n.router, "tc", "qdisc", "add", "dev", ifc, "root", "tbf", "rate", "2mbit", "burst", "1600", "latency", "400ms")
		}
		n.in(n.router, "iptables", "-A", "FORWARD", "-m", "statistic", "--mode", "random", "--probability", "0.01", "-j", "DROP")
	}
	addr := n.pqtlsTarget()
	rep := n.canary(Options{Target: addr, Count: 5})
	if rep.Verdict.Code != VerdictOK || !rep.Verdict.Safe {
		t.Fatalf("verdict %+v", rep.Verdict)
	}
	cl, hy, hrr := caseOf(t, rep, CaseFullClassical), caseOf(t, rep, CaseFullHybrid), caseOf(t, rep, CaseHybridHRR)
	for _, c := range rep.Cases {
		if c.Latency.P50 <= 0 || c.Latency.Max > 5000 || c.Latency.P50 > c.Latency.P90 || c.Latency.P90 > c.Latency.Max {
			t.Errorf("%s: implausible latency %+v", c.Name, c.Latency)
		}
	}
	if netem {
		rtt := float64(2*delay) / float64(time.Millisecond)
		if cl.Latency.P50 < rtt || hy.Latency.P50 < rtt {
			t.Errorf("handshakes faster than the %v RTT: classical %.2f hybrid %.2f ms", 2*delay, cl.Latency.P50, hy.Latency.P50)
		}
		if hrr.Latency.P50 < 2*rtt {
			t.Errorf("HRR case p50 %.2f ms, want two round trips (>= %.0f ms)", hrr.Latency.P50, 2*rtt)
		}
	} else {
		// At 2 Mbit/s the ~2.3 KB of ML-KEM shares take ~9 ms more to
		// serialise: hybrid must cost time, and the byte count must match.
		if rep.Verdict.Cost == nil || rep.Verdict.Cost.DeltaP50Ms <= 2 {
			t.Errorf("hybrid cost %+v, want a few ms at 2 Mbit/s", rep.Verdict.Cost)
		}
		if c := caseOf(t, rep, CaseHybrid); c.Latency.P50 <= caseOf(t, rep, CaseClassical).Latency.P50 {
			t.Errorf("hybrid hello answered faster (%.2f ms) than classical (%.2f ms) on a slow link", c.Latency.P50, caseOf(t, rep, CaseClassical).Latency.P50)
		}
	}
}
