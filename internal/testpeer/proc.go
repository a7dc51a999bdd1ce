package testpeer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

// Default deadlines. Every step that waits on a peer has one.
const (
	// StartTimeout bounds how long a peer may take to start accepting.
	StartTimeout = 30 * time.Second
	// StopTimeout is how long a peer gets after SIGTERM before SIGKILL.
	StopTimeout = 5 * time.Second
	// RunTimeout bounds one-shot commands (clients, initdb, pgbench -i).
	RunTimeout = 60 * time.Second
)

// Proc is a peer process started by this package. It runs in its own process
// group, and t.Cleanup stops the whole group (SIGTERM, then SIGKILL after
// StopTimeout). Its combined stdout+stderr is kept (last 64 KiB) and printed
// with t.Log when the test fails.
type Proc struct {
	// Name is a short label used in messages ("nginx", "node server").
	Name string
	// Cmd is the running command.
	Cmd *exec.Cmd

	stopSig syscall.Signal // default SIGTERM
	stopTO  time.Duration  // default StopTimeout
	out     *tailBuffer
	done    chan struct{}
	waitErr error
	stopped bool
	mu      sync.Mutex
}

// Output returns the last 64 KiB of the process's output.
func (p *Proc) Output() string { return p.out.String() }

// Done is closed when the process exits.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err returns the exit error once Done is closed.
func (p *Proc) Err() error {
	<-p.done
	return p.waitErr
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop terminates the process group (SIGTERM, then SIGKILL after
// StopTimeout) and waits for it. It is safe to call more than once; the
// cleanup calls it too.
func (p *Proc) Stop() {
	p.mu.Lock()
	first := !p.stopped
	p.stopped = true
	p.mu.Unlock()
	if first && !p.Exited() {
		sig := p.stopSig
		if sig == 0 {
			sig = syscall.SIGTERM
		}
		_ = syscall.Kill(-p.Cmd.Process.Pid, sig)
		to := p.stopTO
		if to == 0 {
			to = StopTimeout
		}
		select {
		case <-p.done:
		case <-time.After(to):
		}
	}
	// Kill whatever is left of the group (children that ignored SIGTERM).
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(StopTimeout):
	}
}

// procOptions tweaks [start].
type procOptions struct {
	stdout io.Writer // extra sink for stdout (besides the tail buffer)
	stderr io.Writer // extra sink for stderr
	// stderrOnly sends stderr only to the stderr sink, not to the kept
	// output (for the verbose OpenSSL trace of Node).
	stderrOnly bool
	env        []string // appended to os.Environ()
	dir        string
	cred       *syscall.Credential
	stop       syscall.Signal // signal for a clean stop (default SIGTERM)
	stopTO     time.Duration  // grace period before SIGKILL (default StopTimeout)
}

// start starts a command in its own process group and registers cleanup.
func start(tb testing.TB, name string, o procOptions, path string, args ...string) *Proc {
	tb.Helper()
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: o.cred}
	cmd.Env = append(os.Environ(), o.env...)
	cmd.Dir = o.dir
	p := &Proc{Name: name, Cmd: cmd, stopSig: o.stop, stopTO: o.stopTO, out: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	if o.stdout != nil {
		cmd.Stdout = io.MultiWriter(p.out, o.stdout)
	}
	if o.stderr != nil {
		cmd.Stderr = io.MultiWriter(p.out, o.stderr)
		if o.stderrOnly {
			cmd.Stderr = o.stderr
		}
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testpeer: start %s (%s): %v", name, path, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("testpeer: %s output (last 64 KiB):\n%s", name, p.Output())
		}
	})
	return p
}

// runQuick runs a short command with a deadline and returns its stdout.
func runQuick(timeout time.Duration, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return runCtx(ctx, nil, nil, path, args...)
}

// runCtx runs a command in its own process group, killing the group when ctx
// ends. It returns stdout; the error includes stderr.
func runCtx(ctx context.Context, env []string, cred *syscall.Credential, path string, args ...string) (string, error) {
	return runCtxFull(ctx, env, cred, nil, path, args...)
}

// runCtxStderr is runCtx with stderr also copied to w.
func runCtxStderr(ctx context.Context, w io.Writer, path string, args ...string) (string, error) {
	return runCtxFull(ctx, nil, nil, w, path, args...)
}

func runCtxFull(ctx context.Context, env []string, cred *syscall.Credential, errW io.Writer, path string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if errW != nil {
		cmd.Stderr = io.MultiWriter(&tailBuffer{max: 16 << 10, dst: &stderr}, errW)
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		return stdout.String(), fmt.Errorf("%s: %w (stderr: %s)", path, ctx.Err(), tail(stderr.String(), 2000))
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("%s %v: %w: %s", path, args, err, tail(stderr.String(), 2000))
	}
	return stdout.String(), nil
}

// Run runs a one-shot command (a client, a tool) with a deadline of
// RunTimeout, in its own process group, and returns its stdout. It fails the
// test on error, showing stderr.
func Run(tb testing.TB, path string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	out, err := runCtx(ctx, nil, nil, path, args...)
	if err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago (the
// kernel picked it for a listener that is then closed). Peers that cannot
// report the port they bound use it.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testpeer: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// WaitTCP waits until addr accepts a TCP connection, the process exits, or
// timeout passes.
func WaitTCP(addr string, p *Proc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited before accepting on %s: %v\n%s", p.Name, addr, p.waitErr, tail(p.Output(), 4000))
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	name := "peer"
	if p != nil {
		name = p.Name
	}
	return fmt.Errorf("%s did not accept on %s within %v: %v", name, addr, timeout, last)
}

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, err
	}
	return h, n, nil
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
	dst *bytes.Buffer // if set, the tail is mirrored into dst on each write
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer func() {
		if b.dst != nil {
			b.dst.Reset()
			b.dst.Write(b.buf)
		}
	}()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func writeFileMode(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// bindFailed reports whether a peer's output says its port was taken.
func bindFailed(out string) bool {
	for _, s := range []string{"Address already in use", "address already in use", "could not bind", "Cannot bind", "cannot bind"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// startOnFreePort picks a free port, launches the peer on it and waits
// (wait, or WaitTCP when nil). Another process may grab the port between
// FreePort and the peer's bind: then the peer exits with a bind error and
// this retries with a new port, up to 3 times.
func startOnFreePort(tb testing.TB, launch func(port int) *Proc, wait func(port int, p *Proc) error) (int, *Proc) {
	tb.Helper()
	if wait == nil {
		wait = func(port int, p *Proc) error { return WaitTCP(hostPort(port), p, StartTimeout) }
	}
	for attempt := 1; ; attempt++ {
		port := FreePort(tb)
		p := launch(port)
		err := wait(port, p)
		if err == nil {
			return port, p
		}
		if attempt < 3 && p.Exited() && bindFailed(p.Output()) {
			tb.Logf("testpeer: %s: port %d taken, retrying", p.Name, port)
			continue
		}
		tb.Fatalf("testpeer: %v", err)
	}
}

// serverCert returns cert and its CA or, when cert is nil, a new CA and a
// server certificate it issued for localhost, 127.0.0.1 and ::1.
func serverCert(tb testing.TB, cert *testpki.Cert) (*testpki.CA, *testpki.Cert) {
	tb.Helper()
	if cert != nil {
		return cert.CA, cert
	}
	ca := testpki.NewCA(tb)
	return ca, ca.Server(tb, testpki.CertOptions{})
}

// CaptureOptions configures [Capture].
type CaptureOptions struct {
	// Interface to capture on; default "lo".
	Interface string
	// Filter is a BPF filter, e.g. "tcp port 8443". Keep it narrow: other
	// engineers' tests share lo.
	Filter string
	// Path is the pcap file to write; default <temp dir>/capture.pcap.
	Path string
	// Netns runs tcpdump inside this network namespace (see [Netns]).
	Netns *Namespace
}

// CapturePeer is a running tcpdump.
type CapturePeer struct {
	// Path is the pcap file.
	Path string
	// Proc is the tcpdump process.
	Proc *Proc

	stderr  *Buffer
	once    sync.Once
	packets int
	stopErr error
}

// Capture starts tcpdump (-U: packet-buffered, so the file is complete when
// Stop returns) writing a pcap of Interface/Filter, and returns once tcpdump
// reports it is listening. Call Stop before reading the file.
func Capture(tb testing.TB, opts CaptureOptions) *CapturePeer {
	tb.Helper()
	Require(tb, PeerTcpdump)
	bin, _ := Find(PeerTcpdump)
	if opts.Interface == "" {
		opts.Interface = "lo"
	}
	c := &CapturePeer{Path: opts.Path, stderr: &Buffer{}}
	if c.Path == "" {
		c.Path = filepath.Join(tb.TempDir(), "capture.pcap")
	}
	// -Z root: tcpdump drops to user tcpdump after opening the file by
	// default, which then cannot be written in a 0700 temp dir.
	args := []string{"-i", opts.Interface, "--immediate-mode", "-U", "-n", "-s", "0", "-w", c.Path, "-Z", "root"}
	if opts.Filter != "" {
		args = append(args, opts.Filter)
	}
	path := bin
	if opts.Netns != nil {
		args = append([]string{"netns", "exec", opts.Netns.Name, bin}, args...)
		path = "ip"
	}
	c.Proc = start(tb, "tcpdump", procOptions{stderr: c.stderr, stop: syscall.SIGINT}, path, args...)
	deadline := time.Now().Add(StartTimeout)
	for !strings.Contains(c.stderr.String(), "listening on") {
		if c.Proc.Exited() || time.Now().After(deadline) {
			tb.Fatalf("testpeer: tcpdump did not start capturing: %v\n%s", c.Proc.waitErr, c.Proc.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Cleanup(func() { _, _ = c.Stop() })
	return c
}

var reCaptured = regexp.MustCompile(`(\d+) packets? captured`)

// Stop stops tcpdump (SIGINT, so it flushes the file) and returns the number
// of packets it reports captured. It waits briefly first so packets already
// sent are read from the kernel. Safe to call more than once.
func (c *CapturePeer) Stop() (int, error) {
	c.once.Do(func() {
		time.Sleep(200 * time.Millisecond)
		c.Proc.Stop()
		// The count is tcpdump's last line; give its stderr copy a moment
		// on a loaded machine before calling it missing.
		m := reCaptured.FindStringSubmatch(c.stderr.String())
		for deadline := time.Now().Add(2 * time.Second); m == nil && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			m = reCaptured.FindStringSubmatch(c.stderr.String())
		}
		if m == nil {
			c.stopErr = fmt.Errorf("tcpdump printed no packet count: %s", tail(c.stderr.String(), 2000))
			return
		}
		c.packets, _ = strconv.Atoi(m[1])
		if st, err := os.Stat(c.Path); err != nil || st.Size() < 24 {
			c.stopErr = fmt.Errorf("pcap file %s incomplete: %v", c.Path, err)
		}
	})
	return c.packets, c.stopErr
}

// Buffer is a bytes.Buffer safe for concurrent Write and String: a log
// or a child process's output written by one goroutine and read by the
// test. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (n int, err error) {
	l.locked(func(b *bytes.Buffer) { n, err = b.Write(p) })
	return n, err
}

func (l *Buffer) String() (s string) {
	l.locked(func(b *bytes.Buffer) { s = b.String() })
	return s
}

// Reset empties the buffer.
func (l *Buffer) Reset() { l.locked((*bytes.Buffer).Reset) }

// locked runs f on the buffer with the lock held.
func (l *Buffer) locked(f func(*bytes.Buffer)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.b)
}

// TsharkFields decodes a pcap with tshark, an independent dissector, and
// returns one row per packet matching displayFilter (e.g.
// "tls.handshake.type == 2"), one column per field (e.g.
// "tls.handshake.extensions_key_share_group"). Multiple occurrences of a
// field in one packet are joined with ','. Values are tshark's raw
// rendering: Wireshark 4.0 prints the ServerHello key_share group as decimal
// ("4588") and supported_groups as hex ("0x11ec,0x001d").
func TsharkFields(tb testing.TB, pcap, displayFilter string, fields ...string) [][]string {
	tb.Helper()
	Require(tb, PeerTshark)
	bin, _ := Find(PeerTshark)
	args := []string{"-r", pcap, "-n", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"}
	if displayFilter != "" {
		args = append(args, "-Y", displayFilter)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out := Run(tb, bin, args...)
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		rows = append(rows, strings.Split(line, "\t"))
	}
	return rows
}

// PQTLSBinary builds cmd/pqtls (the real CLI) into a temp folder that every
// uid can traverse, so tests can run it as a separate process, also as
// another user. The go command must be on PATH; the build cache makes
// builds after the first one a link step.
func PQTLSBinary(tb testing.TB) string {
	tb.Helper()
	dir := shortTempDir(tb, "pqtls-bin-")
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	bin := filepath.Join(dir, "pqtls")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := runCtx(ctx, nil, nil, "go", "build", "-o", bin, "github.com/pqtls/pqtls/cmd/pqtls"); err != nil {
		tb.Fatalf("testpeer: go build ./cmd/pqtls: %v\n%s", err, out)
	}
	return bin
}
