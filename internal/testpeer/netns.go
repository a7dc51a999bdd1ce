package testpeer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Namespace is a network namespace created by [Netns]. Its addresses exist
// only inside the namespaces of one topology; nothing leaves the machine.
type Namespace struct {
	// Name is the namespace name (ip netns list), unique per test.
	Name string
}

// NetnsOptions configures [Netns].
type NetnsOptions struct {
	// Router puts a third namespace between client and server, with
	// ip_forward on, so MTU and filtering can be applied mid-path.
	Router bool
	// MTU sets the MTU of every veth (default 1500). Use
	// Namespace.SetMTU for a single hop.
	MTU int
}

// Topology is a set of namespaces joined by veth pairs:
//
//	without Router: Client eth0 10.201.1.2/24 <-> Server eth0 10.201.1.1/24
//	with Router:    Client eth0 10.201.1.2/24 <-> Router rc0 10.201.1.1/24
//	                Router rs0 10.201.2.1/24  <-> Server eth0 10.201.2.2/24
//
// Each namespace has lo up and default routes where needed.
type Topology struct {
	Client, Server *Namespace
	// Router is nil without NetnsOptions.Router.
	Router *Namespace
	// ClientIP and ServerIP are the addresses of eth0 in Client and Server.
	ClientIP, ServerIP string
}

// Device names inside the namespaces.
const (
	NetnsDev          = "eth0" // in Client and Server
	NetnsRouterClient = "rc0"  // Router side facing Client
	NetnsRouterServer = "rs0"  // Router side facing Server
)

// Netns creates a client/server (optionally client/router/server) topology
// of fresh network namespaces, deleted by t.Cleanup even when the test
// fails. It needs root: otherwise the test is skipped (failed with
// PQTLS_REQUIRE_PEERS=1). Name tests that use it TestNetns*.
func Netns(tb testing.TB, opts NetnsOptions) *Topology {
	tb.Helper()
	Require(tb, PeerNetns)
	sweepStaleNetns()
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	// The creator's PID is in the name, so a later run can remove what a
	// killed test binary left behind (see sweepStaleNetns).
	prefix := fmt.Sprintf("pqtls-%d-%s", os.Getpid(), hex.EncodeToString(rnd[:]))
	mk := func(role string) *Namespace {
		ns := &Namespace{Name: prefix + "-" + role}
		if out, err := runQuick(RunTimeout, "ip", "netns", "add", ns.Name); err != nil {
			Missing(tb, PeerNetns, fmt.Errorf("ip netns add: %v %s", err, out))
		}
		tb.Cleanup(func() {
			if out, err := runQuick(RunTimeout, "ip", "netns", "del", ns.Name); err != nil {
				tb.Errorf("testpeer: ip netns del %s: %v %s", ns.Name, err, out)
			}
		})
		ns.Run(tb, "ip", "link", "set", "lo", "up")
		return ns
	}
	t := &Topology{Client: mk("c"), Server: mk("s")}
	mtu := opts.MTU
	if mtu == 0 {
		mtu = 1500
	}
	veth := func(a *Namespace, aDev string, b *Namespace, bDev string) {
		if out, err := runQuick(RunTimeout, "ip", "-n", a.Name, "link", "add", aDev, "mtu", strconv.Itoa(mtu),
			"type", "veth", "peer", "name", bDev, "mtu", strconv.Itoa(mtu), "netns", b.Name); err != nil {
			tb.Fatalf("testpeer: veth %s/%s - %s/%s: %v %s", a.Name, aDev, b.Name, bDev, err, out)
		}
		a.Run(tb, "ip", "link", "set", aDev, "up")
		b.Run(tb, "ip", "link", "set", bDev, "up")
	}
	if !opts.Router {
		veth(t.Client, NetnsDev, t.Server, NetnsDev)
		t.ClientIP, t.ServerIP = "10.201.1.2", "10.201.1.1"
		t.Client.Run(tb, "ip", "addr", "add", "10.201.1.2/24", "dev", NetnsDev)
		t.Server.Run(tb, "ip", "addr", "add", "10.201.1.1/24", "dev", NetnsDev)
		return t
	}
	t.Router = mk("r")
	veth(t.Client, NetnsDev, t.Router, NetnsRouterClient)
	veth(t.Server, NetnsDev, t.Router, NetnsRouterServer)
	t.ClientIP, t.ServerIP = "10.201.1.2", "10.201.2.2"
	t.Client.Run(tb, "ip", "addr", "add", "10.201.1.2/24", "dev", NetnsDev)
	t.Router.Run(tb, "ip", "addr", "add", "10.201.1.1/24", "dev", NetnsRouterClient)
	t.Router.Run(tb, "ip", "addr", "add", "10.201.2.1/24", "dev", NetnsRouterServer)
	t.Server.Run(tb, "ip", "addr", "add", "10.201.2.2/24", "dev", NetnsDev)
	t.Client.Run(tb, "ip", "route", "add", "default", "via", "10.201.1.1")
	t.Server.Run(tb, "ip", "route", "add", "default", "via", "10.201.2.1")
	t.Router.Run(tb, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	return t
}

// Exec runs a command inside the namespace (ip netns exec) with a deadline
// of RunTimeout and returns its stdout.
func (n *Namespace) Exec(ctx context.Context, path string, args ...string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, RunTimeout)
		defer cancel()
	}
	return runCtx(ctx, nil, nil, "ip", append([]string{"netns", "exec", n.Name, path}, args...)...)
}

// Run is Exec that fails the test on error.
func (n *Namespace) Run(tb testing.TB, path string, args ...string) string {
	tb.Helper()
	out, err := n.Exec(context.Background(), path, args...)
	if err != nil {
		tb.Fatalf("testpeer: in netns %s: %v", n.Name, err)
	}
	return out
}

// Start starts a long-running process inside the namespace, stopped by
// t.Cleanup like every other peer.
func (n *Namespace) Start(tb testing.TB, name, path string, args ...string) *Proc {
	tb.Helper()
	return start(tb, name, procOptions{}, "ip", append([]string{"netns", "exec", n.Name, path}, args...)...)
}

// Do runs f on an OS thread switched into the namespace (setns). Sockets
// created inside f (net.Listen, net.Dial) stay in the namespace afterwards
// and can be used from any goroutine; goroutines started inside f do NOT run
// in the namespace. The thread is discarded after f.
func (n *Namespace) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the goroutine exits locked, so the runtime
		// throws the thread away instead of reusing it in the wrong netns.
		fd, err := os.Open("/run/netns/" + n.Name)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", n.Name, err)
			return
		}
		defer fd.Close()
		if err := unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", n.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Listen opens a listener inside the namespace.
func (n *Namespace) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := n.Do(func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// DialTimeout connects from inside the namespace.
func (n *Namespace) DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() error {
		var err error
		c, err = net.DialTimeout(network, addr, timeout)
		return err
	})
	return c, err
}

// SetMTU sets the MTU of a device in the namespace.
func (n *Namespace) SetMTU(tb testing.TB, dev string, mtu int) {
	tb.Helper()
	n.Run(tb, "ip", "link", "set", "dev", dev, "mtu", strconv.Itoa(mtu))
}

// Iptables runs iptables with args inside the namespace, e.g.
// ns.Iptables(t, "-A", "FORWARD", "-m", "length", "--length", "1000:65535", "-j", "DROP").
func (n *Namespace) Iptables(tb testing.TB, args ...string) {
	tb.Helper()
	n.Run(tb, "iptables", args...)
}

// ErrNoNetem reports that the kernel has no netem qdisc (sch_netem).
var ErrNoNetem = errors.New("the kernel has no netem qdisc (module sch_netem): delay/loss emulation unavailable")

// Netem adds a netem qdisc on dev (e.g. "delay", "20ms", "loss", "1%").
// On kernels without netem it returns an error wrapping ErrNoNetem, so a
// test can t.Skip that part (test-deps.sh cannot install a kernel module).
func (n *Namespace) Netem(dev string, params ...string) error {
	out, err := n.Exec(context.Background(), "tc", append([]string{"qdisc", "replace", "dev", dev, "root", "netem"}, params...)...)
	if err != nil {
		if strings.Contains(err.Error(), "unknown") {
			return fmt.Errorf("%w: %v", ErrNoNetem, err)
		}
		return fmt.Errorf("tc netem on %s: %v %s", dev, err, out)
	}
	return nil
}

// sweepStaleNetns deletes namespaces named pqtls-<pid>-... whose creating
// process no longer exists (a test binary killed before its cleanups ran).
// Namespaces of live processes, and any other name, are left alone.
func sweepStaleNetns() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		f := strings.SplitN(e.Name(), "-", 3)
		if len(f) != 3 || f[0] != "pqtls" {
			continue
		}
		pid, err := strconv.Atoi(f[1])
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + f[1]); err == nil {
			continue // creator alive
		}
		_, _ = runQuick(10*time.Second, "ip", "netns", "del", e.Name())
	}
}

// netnsAvailable checks that network namespaces can be created: root and
// ip(8) present.
func netnsAvailable() (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("network namespace tests need root")
	}
	p, err := exec.LookPath("ip")
	if err != nil {
		return "", errors.New("ip(8) from iproute2 not found")
	}
	return p, nil
}
