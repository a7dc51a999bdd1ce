package testpeer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

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

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Reset empties the buffer.
func (l *Buffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
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
