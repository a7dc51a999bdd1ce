package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pqtls/pqtls/observe"
)

type observeFlags struct {
	read, iface, filter, format, by, output, serve string
	duration, idle                                 time.Duration
	maxFlows                                       int
	maxBuffer                                      int64
	failUnlessPQ, noPromisc                        bool
}

func newObserveCmd(s streams) *cobra.Command {
	var f observeFlags
	cmd := &cobra.Command{
		Use:   "observe (-r FILE | -i IFACE) [flags]",
		Short: "Passively report which TLS flows in a capture or on an interface use hybrid post-quantum key exchange",
		Long: `observe reads TLS handshakes from a pcap/pcapng capture (-r) or live from an interface (-i, root)
and reports, per flow, the groups offered, the key shares sent, the group the server chose and an outcome:
hybrid, pq, classical, tls12, failed (alert or reset after the ClientHello) or incomplete.

Output: a table by server (--by client for one by client IP), one JSON record per flow (--format jsonl,
schema pqtls.observe/v1) or Prometheus text (--format prom) with the tls_handshake_* metrics, role="observed".
See docs/OBSERVE.md.`,
		Example: `  pqtls observe -r capture.pcapng
  pqtls observe -r capture.pcap --filter 'tcp port 443' --format jsonl
  sudo pqtls observe -i eth0 --filter 'tcp port 443' --serve :9109`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runObserve(cmd.Context(), s, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.read, "read", "r", "", "read packets from a pcap or pcapng `FILE` (tcpdump -w, Wireshark, dumpcap); - reads standard input")
	fl.StringVarP(&f.iface, "interface", "i", "", "capture live on `IFACE`, or on every interface with any (AF_PACKET, needs root or CAP_NET_RAW)")
	fl.StringVar(&f.filter, "filter", "", "pcap-filter(7) `EXPR`, e.g. 'tcp port 443' (compiled by tcpdump, which must be installed)")
	fl.StringVar(&f.format, "format", "table", "output `FORMAT`: table, jsonl or prom")
	fl.StringVar(&f.by, "by", "server", "group the table by `KEY`: server (address:port) or client (IP address)")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to `FILE` (atomically) instead of stdout")
	fl.StringVar(&f.serve, "serve", "", "live mode: serve Prometheus metrics on http://`ADDR`/metrics while capturing")
	fl.DurationVar(&f.duration, "duration", 0, "live mode: stop after this long (default: until interrupted)")
	fl.DurationVar(&f.idle, "idle-timeout", 2*time.Minute, "forget a flow after this long without packets (capture time)")
	fl.IntVar(&f.maxFlows, "max-flows", 100000, "track at most this many flows at once (memory bound)")
	fl.Int64Var(&f.maxBuffer, "max-buffer-bytes", observe.DefaultMaxBufferBytes, "buffer at most this many handshake bytes across all flows; beyond, the oldest unfinished handshakes are evicted as incomplete (memory bound)")
	fl.BoolVar(&f.noPromisc, "no-promiscuous-mode", false, "live mode: do not put the interface in promiscuous mode (see only this host's traffic, like tcpdump -p)")
	fl.BoolVar(&f.failUnlessPQ, "fail-unless-pq", false, "exit 1 if any completed handshake did not use a hybrid or ML-KEM group")
	return cmd
}

func runObserve(ctx context.Context, s streams, f observeFlags) error {
	if (f.read == "") == (f.iface == "") {
		return usageErrorf("give exactly one of -r FILE (read a capture) or -i IFACE (live capture)")
	}
	switch f.format {
	case "table", "jsonl", "prom":
	default:
		return usageErrorf("unknown --format %q: use table, jsonl or prom", f.format)
	}
	if f.by != "server" && f.by != "client" {
		return usageErrorf("unknown --by %q: use server or client", f.by)
	}
	if f.serve != "" && f.iface == "" {
		return usageErrorf("--serve only works with live capture (-i IFACE); for a file use --format prom")
	}
	if f.noPromisc && f.iface == "" {
		return usageErrorf("--no-promiscuous-mode only works with live capture (-i IFACE)")
	}
	if f.duration != 0 && f.iface == "" {
		return usageErrorf("--duration only works with live capture (-i IFACE)")
	}
	if f.duration < 0 {
		return usageErrorf("--duration must be positive (or 0: until interrupted)")
	}
	if f.maxFlows <= 0 || f.idle <= 0 || f.maxBuffer <= 0 {
		return usageErrorf("--max-flows, --max-buffer-bytes and --idle-timeout must be positive")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if f.filter != "" {
		// Check the expression now: a bad one is a usage error (exit 2).
		if _, err := exec.LookPath("tcpdump"); err != nil {
			return failuref("--filter needs tcpdump to compile BPF expressions and it is not in PATH: install tcpdump or drop --filter")
		}
		link := observe.LinkEthernet
		if f.iface == "any" {
			link = observe.LinkRaw // -i any reads IP packets without link-layer headers
		}
		if _, err := observe.CompileFilter(ctx, f.filter, link); err != nil {
			return usageErrorf("%v", err)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Output: stdout, or a temp file renamed into place at the end.
	out := s.out
	var tmp *os.File
	if f.output != "" {
		var err error
		tmp, err = os.CreateTemp(filepath.Dir(f.output), ".pqtls-observe-*")
		if err != nil {
			return failuref("creating the output file: %w", err)
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		out = tmp
	}
	bw := bufio.NewWriter(out)

	reg := prometheus.NewRegistry()
	rec, err := observe.NewRecorder(reg)
	if err != nil {
		return failuref("%w", err)
	}
	summary := observe.NewSummary(f.by == "client")
	enc := json.NewEncoder(bw)
	notPQ := 0
	var writeErr error
	emit := func(fl *observe.Flow) {
		rec.Flow(fl)
		if f.format == "table" { // the only format that prints it: no growth otherwise
			summary.Add(fl)
		}
		switch fl.Outcome {
		case observe.OutcomeClassical, observe.OutcomeTLS12, observe.OutcomeDraft, observe.OutcomeUnknownGroup:
			notPQ++
		}
		if f.format == "jsonl" && writeErr == nil {
			writeErr = enc.Encode(fl)
			if (f.iface != "" || f.read == "-") && writeErr == nil {
				writeErr = bw.Flush() // live or streamed: one line as soon as it is known
			}
		}
	}
	a := observe.NewAnalyzer(observe.Options{IdleTimeout: f.idle, MaxFlows: f.maxFlows, MaxBufferBytes: f.maxBuffer}, emit)

	// readErr is a capture that could not be read to its end (damaged, or
	// interrupted): the report still covers the packets read before it, and
	// the run fails after writing it (a half-read file is not its answer).
	var readErr error
	if f.read == "-" {
		// A capture streamed on stdin: tcpdump -w - | pqtls observe -r -
		if err := observe.ReadCapture(ctx, s.in, observe.FileOptions{Filter: f.filter}, a); err != nil && ctx.Err() == nil {
			// (Ctrl-C ends a stream like a live capture: not an error.)
			if a.Stats().Packets == 0 {
				return failuref("reading the capture from standard input: %w", err)
			}
			readErr = fmt.Errorf("reading the capture from standard input: %w; the report covers only the %d packets read before it", err, a.Stats().Packets)
		}
	} else if f.read != "" {
		if err := observe.ReadFile(ctx, f.read, observe.FileOptions{Filter: f.filter}, a); err != nil {
			if a.Stats().Packets == 0 && ctx.Err() == nil {
				return failuref("%w", err) // not a capture at all: nothing to report
			}
			if ctx.Err() != nil {
				err = errors.New("interrupted before the end of the capture")
			}
			readErr = fmt.Errorf("%s: %w; the report covers only the %d packets read before it", f.read, err, a.Stats().Packets)
		}
	} else {
		if f.duration > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, f.duration)
			defer cancel()
		}
		var srv *http.Server
		if f.serve != "" {
			ln, err := net.Listen("tcp", f.serve)
			if err != nil {
				return usageErrorf("--serve %s: %v (pick a free address)", f.serve, err)
			}
			mux := http.NewServeMux()
			mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
			srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
			go srv.Serve(ln)
			fmt.Fprintf(s.errOut, "pqtls observe: serving metrics on http://%s/metrics\n", ln.Addr())
			defer func() {
				sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				srv.Shutdown(sctx)
			}()
		}
		tty := false
		if fe, ok := s.errOut.(*os.File); ok && term.IsTerminal(int(fe.Fd())) {
			tty = true
		}
		onTick := func() {
			st := a.Stats()
			rec.Stats(st)
			if tty { // progress on a terminal only
				fmt.Fprintf(s.errOut, "\rpqtls observe: %s: %d packets, %d TLS flows, %d in flight", f.iface, st.Packets, st.Flows, st.ActiveFlows)
			}
		}
		err := observe.Live(ctx, observe.LiveOptions{Interface: f.iface, Filter: f.filter, OnTick: onTick, NoPromisc: f.noPromisc}, a)
		if tty {
			fmt.Fprint(s.errOut, "\r\x1b[K") // clear the progress line before the report
		}
		if err != nil {
			return failuref("%w", err)
		}
	}
	a.Flush()
	st := a.Stats()
	rec.Stats(st)

	switch f.format {
	case "table":
		writeErr = errors.Join(writeErr, summary.WriteTable(bw))
	case "prom":
		writeErr = errors.Join(writeErr, observe.WriteProm(bw, reg))
	}
	if err := errors.Join(writeErr, bw.Flush()); err != nil {
		return failuref("writing the report: %w", err)
	}
	if readErr != nil {
		printObserveStats(s.errOut, st, f.maxBuffer)
		return failuref("%w", readErr) // --output is not renamed into place
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return failuref("writing %s: %w", f.output, err)
		}
		if err := os.Rename(tmp.Name(), f.output); err != nil {
			return failuref("writing %s: %w", f.output, err)
		}
		tmp = nil
	}
	printObserveStats(s.errOut, st, f.maxBuffer)
	if f.failUnlessPQ && notPQ > 0 {
		fmt.Fprintf(s.errOut, "pqtls observe: %d completed handshake(s) without a hybrid or ML-KEM group\n", notPQ)
		return silentExit(exitFailure)
	}
	return nil
}

func printObserveStats(w io.Writer, st observe.Stats, maxBuffer int64) {
	fmt.Fprintf(w, "pqtls observe: %d packets analysed, %d TLS flows, %d malformed handshakes skipped, %d non-TLS flows, %d flows picked up without a ClientHello",
		st.Packets, st.Flows, st.Malformed, st.NotTLS, st.Untracked)
	if st.UnknownLink > 0 {
		fmt.Fprintf(w, ", %d packets of an unsupported link type skipped (see docs/OBSERVE.md for the supported ones)", st.UnknownLink)
	}
	if st.Undecodable > 0 {
		fmt.Fprintf(w, ", %d undecodable packets", st.Undecodable)
	}
	if st.FiltersOut > 0 {
		fmt.Fprintf(w, ", %d packets excluded by --filter", st.FiltersOut)
	}
	if st.DroppedFlows > 0 {
		fmt.Fprintf(w, ", %d flows not tracked and their %d packets skipped (flow table full: raise --max-flows)", st.DroppedFlows, st.DroppedPackets)
	}
	if st.EvictedFlows > 0 {
		fmt.Fprintf(w, ", %d flows evicted before their handshake was read (buffered handshake bytes over %d: raise --max-buffer-bytes)", st.EvictedFlows, maxBuffer)
	}
	if st.KernelDrops > 0 {
		fmt.Fprintf(w, ", %d packets dropped by the kernel before they could be read (busy link: narrow --filter, or capture with tcpdump -w and use -r)", st.KernelDrops)
	}
	if st.TruncatedPkts > 0 {
		fmt.Fprintf(w, ", %d packets cut by the snaplen", st.TruncatedPkts)
	}
	fmt.Fprintln(w)
}
