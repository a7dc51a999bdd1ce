package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/pqtls/pqtls/internal/httpserve"
	"github.com/pqtls/pqtls/internal/outfile"
	"github.com/pqtls/pqtls/internal/report"
	"github.com/pqtls/pqtls/observe"
	"github.com/pqtls/pqtls/observe/accesslog"
)

type observeFlags struct {
	read, iface, filter, format, by, output, serve string
	log, logFormat                                 string
	duration, idle                                 time.Duration
	maxFlows                                       int
	maxBuffer                                      int64
	failUnlessPQ, noPromisc                        bool
}

func newObserveCmd(s streams) *cobra.Command {
	var f observeFlags
	cmd := &cobra.Command{
		Use:   "observe (-r FILE | -i IFACE | --log FORMAT -r FILE) [flags]",
		Short: "Passively report which TLS flows in a capture or on an interface use hybrid post-quantum key exchange",
		Long: `observe reads TLS handshakes from a pcap/pcapng capture (-r) or live from an interface (-i, root)
and reports, per flow, the groups offered, the key shares sent, the group the server chose and an outcome:
hybrid, pq, classical, tls12, failed (alert or reset after the ClientHello) or incomplete.

Output: a table by server (--by client for one by client IP), one JSON record per flow (--format jsonl,
schema pqtls.observe/v1) or Prometheus text (--format prom) with the tls_handshake_* metrics, role="observed".

With --log FORMAT, -r reads a server's log instead (- for a stream: tail -F access.log | pqtls observe
--log nginx --log-format '...' -r - --serve :9109): one record per handshake line, source "log".
See docs/OBSERVE.md.`,
		Example: `  pqtls observe -r capture.pcapng
  pqtls observe -r capture.pcap --filter 'tcp port 443' --format jsonl
  sudo pqtls observe -i eth0 --filter 'tcp port 443' --serve :9109
  pqtls observe --log nginx --log-format '$remote_addr [$time_local] $ssl_protocol $ssl_curve' -r access.log
  pqtls observe --log zeek -r ssl.log --format jsonl`,
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
	fl.StringVarP(&f.output, "output", "o", "", "write the report to `FILE` (- for stdout; a regular file is replaced atomically, a device or FIFO written in place)")
	fl.StringVar(&f.serve, "serve", "", "serve Prometheus metrics on http://`ADDR`/metrics while reading a stream (-i IFACE, or -r -)")
	fl.DurationVar(&f.duration, "duration", 0, "live mode: stop after this long (default: until interrupted)")
	fl.DurationVar(&f.idle, "idle-timeout", 2*time.Minute, "forget a flow after this long without packets (capture time)")
	fl.IntVar(&f.maxFlows, "max-flows", 100000, "track at most this many flows at once (memory bound)")
	fl.Int64Var(&f.maxBuffer, "max-buffer-bytes", observe.DefaultMaxBufferBytes, "buffer at most this many handshake bytes across all flows; beyond, the oldest unfinished handshakes are evicted as incomplete (memory bound)")
	fl.BoolVar(&f.noPromisc, "no-promiscuous-mode", false, "live mode: do not put the interface in promiscuous mode (see only this host's traffic, like tcpdump -p)")
	fl.StringVar(&f.log, "log", "", "read -r as a server log in `FORMAT`: "+strings.Join(accesslog.FormatNames(), ", "))
	fl.StringVar(&f.logFormat, "log-format", "", "the server's log format `DEFINITION` for --log nginx, haproxy or envoy (nginx: the log_format string)")
	fl.BoolVar(&f.failUnlessPQ, "fail-unless-pq", false, "exit 1 if any completed handshake did not use a hybrid or ML-KEM group")
	return cmd
}

// streaming reports whether the input is read while it is written (live
// capture or standard input): JSONL lines are flushed one by one, --serve
// makes sense, and Ctrl-C ends the input rather than interrupting it.
func (f observeFlags) streaming() bool { return f.iface != "" || f.read == "-" }

// checkObserveFlags validates the flags (usage errors, exit 2).
func checkObserveFlags(f observeFlags) error {
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
	if f.serve != "" && !f.streaming() {
		return usageErrorf("--serve only works while reading a stream (-i IFACE, or -r - for standard input); for a file use --format prom")
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
	if f.log != "" {
		if f.iface != "" || f.filter != "" {
			return usageErrorf("--log reads a log file (-r FILE, or -r - for a stream): -i and --filter are for packets")
		}
	} else if f.logFormat != "" {
		return usageErrorf("--log-format needs --log FORMAT")
	}
	if f.maxFlows <= 0 || f.idle <= 0 || f.maxBuffer <= 0 {
		return usageErrorf("--max-flows, --max-buffer-bytes and --idle-timeout must be positive")
	}
	return nil
}

// checkObserveFilter compiles --filter once before any work: a bad
// expression is a usage error (exit 2).
func checkObserveFilter(ctx context.Context, f observeFlags) error {
	if f.filter == "" {
		return nil
	}
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
	return nil
}

func runObserve(ctx context.Context, s streams, f observeFlags) error {
	f.format = strings.ToLower(strings.TrimSpace(f.format)) // every enum: trimmed, case-insensitive
	f.by = strings.ToLower(strings.TrimSpace(f.by))
	if err := checkObserveFlags(f); err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := checkObserveFilter(ctx, f); err != nil {
		return err
	}
	// The output is opened before any work: a directory or an unwritable
	// path is exit 2 with nothing read.
	path := f.output
	if path == "" {
		path = "-"
	}
	out, err := outfile.Create(path, s.out)
	if err != nil {
		return usageErrorf("--output: %v", err)
	}
	defer out.Abort()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	r, err := newObserveRun(f, s, out)
	if err != nil {
		return err
	}
	if f.log != "" {
		format, err := accesslog.ParseFormat(f.log)
		if err != nil {
			return usageErrorf("--log: %v", err)
		}
		if r.logs, err = accesslog.New(format, f.logFormat, r.emit); err != nil {
			return usageErrorf("%v", err)
		}
	}
	if f.serve != "" {
		srv, err := r.serve(f.serve)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
	}
	st, readErr, err := r.read(ctx)
	if err != nil {
		return err
	}
	return r.finish(st, readErr)
}

// observeRun is one run of pqtls observe: where flows go (metrics, the
// summary table, JSONL lines) and the output they are written to.
type observeRun struct {
	f        observeFlags
	s        streams
	out      *outfile.File
	enc      *json.Encoder
	reg      *prometheus.Registry
	rec      *observe.Recorder
	summary  *observe.Summary
	a        *observe.Analyzer
	logs     *accesslog.Reader // --log
	notPQ    int
	writeErr error
}

func newObserveRun(f observeFlags, s streams, out *outfile.File) (*observeRun, error) {
	r := &observeRun{f: f, s: s, out: out, enc: json.NewEncoder(out), reg: prometheus.NewRegistry()}
	var err error
	if r.rec, err = observe.NewRecorder(r.reg); err != nil {
		return nil, failuref("%w", err)
	}
	r.summary = observe.NewSummary(f.by == "client")
	r.a = observe.NewAnalyzer(observe.Options{IdleTimeout: f.idle, MaxFlows: f.maxFlows, MaxBufferBytes: f.maxBuffer,
		Logger: observeLogger(s.errOut)}, r.emit)
	return r, nil
}

// emit records one flow.
func (r *observeRun) emit(fl *observe.Flow) {
	r.rec.Flow(fl)
	if r.f.format == "table" { // the only format that prints it: no growth otherwise
		r.summary.Add(fl)
	}
	switch fl.Outcome {
	case observe.OutcomeClassical, observe.OutcomeTLS12, observe.OutcomeDraft, observe.OutcomeUnknownGroup:
		r.notPQ++
	}
	if r.f.format == "jsonl" && r.writeErr == nil {
		r.writeErr = r.enc.Encode(fl)
		if r.f.streaming() && r.writeErr == nil {
			r.writeErr = r.out.Flush() // live or streamed: one line as soon as it is known
		}
	}
}

// serve starts the --serve metrics endpoint on the hardened side-port
// server (timeouts, connection cap).
func (r *observeRun) serve(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageErrorf("--serve %s: %v (pick a free address)", addr, err)
	}
	rejected, err := httpserve.NewRejectedCounter(r.reg, "observe")
	if err != nil {
		ln.Close()
		return nil, failuref("%w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	srv := httpserve.Serve(ln, mux, httpserve.Options{Rejected: rejected})
	fmt.Fprintf(r.s.errOut, "pqtls observe: serving metrics on http://%s/metrics\n", ln.Addr())
	return srv, nil
}

// read feeds the input to the analyzer and decides the flows still open.
// readErr is an input that could not be read to its end (damaged, or
// interrupted): the report still covers what was read before it, and the
// run fails after writing it. err is a failure before anything was read.
func (r *observeRun) read(ctx context.Context) (st observe.Stats, readErr, err error) {
	f, a := r.f, r.a
	switch {
	case r.logs != nil:
		return st, nil, r.readLog(ctx)
	case f.read == "-":
		// A capture streamed on stdin: tcpdump -w - | pqtls observe -r -
		opts := observe.FileOptions{Filter: f.filter}
		if f.serve != "" {
			var mu sync.Mutex
			opts.Lock = &mu
			stop := r.publish(func() { mu.Lock(); st := a.Stats(); mu.Unlock(); r.rec.Stats(st) })
			defer stop()
		}
		if err := observe.ReadCapture(ctx, r.s.in, opts, a); err != nil && ctx.Err() == nil {
			// (Ctrl-C ends a stream like a live capture: not an error.)
			if a.Stats().Packets == 0 {
				return st, nil, failuref("reading the capture from standard input: %w", err)
			}
			readErr = fmt.Errorf("reading the capture from standard input: %w; the report covers only the %d packets read before it", err, a.Stats().Packets)
		}
	case f.read != "":
		if err := observe.ReadFile(ctx, f.read, observe.FileOptions{Filter: f.filter}, a); err != nil {
			if a.Stats().Packets == 0 && ctx.Err() == nil {
				return st, nil, failuref("%w", err) // not a capture at all: nothing to report
			}
			if ctx.Err() != nil {
				err = errors.New("interrupted before the end of the capture")
			}
			readErr = fmt.Errorf("%s: %w; the report covers only the %d packets read before it", f.read, err, a.Stats().Packets)
		}
	default:
		if err := r.live(ctx); err != nil {
			return st, nil, failuref("%w", err)
		}
	}
	a.Flush()
	st = a.Stats()
	r.rec.Stats(st)
	return st, readErr, nil
}

// readLog reads a server's log (--log). Bad lines are counted, never
// fatal; a log of which no line matched is the wrong --log-format.
func (r *observeRun) readLog(ctx context.Context) error {
	in := r.s.in
	if r.f.read != "-" {
		file, err := os.Open(r.f.read)
		if err != nil {
			return failuref("opening the log: %w", err)
		}
		defer file.Close()
		in = file
	} else if r.f.serve != "" {
		// A stream: publish the line counters while it runs.
		defer r.publish(func() { st := r.logs.Stats(); r.rec.LogStats(st.Lines, st.Bad) })()
	}
	err := r.logs.Read(ctx, in)
	st := r.logs.Stats()
	r.rec.LogStats(st.Lines, st.Bad)
	if err != nil && ctx.Err() == nil {
		return failuref("reading the log: %w", err)
	}
	if st.Lines > 0 && st.Bad == st.Lines {
		return failuref("no line of the log matched --log %s (%s): check --log-format against the server's configuration", r.f.log, st.FirstBad)
	}
	return nil
}

// publish calls f once a second until the returned stop function is
// called: the counters --serve shows while a stream is read.
func (r *observeRun) publish(f func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				f()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// live captures on -i until interrupted or --duration.
func (r *observeRun) live(ctx context.Context) error {
	f, a := r.f, r.a
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	tty := report.IsTerminal(r.s.errOut)
	onTick := func() {
		st := a.Stats()
		r.rec.Stats(st)
		if tty { // progress on a terminal only
			fmt.Fprintf(r.s.errOut, "\rpqtls observe: %s: %d packets, %d TLS flows, %d in flight", f.iface, st.Packets, st.Flows, st.ActiveFlows)
		}
	}
	err := observe.Live(ctx, observe.LiveOptions{Interface: f.iface, Filter: f.filter, OnTick: onTick, NoPromisc: f.noPromisc}, a)
	if tty {
		fmt.Fprint(r.s.errOut, "\r\x1b[K") // clear the progress line before the report
	}
	return err
}

// finish writes the report, then commits the output, or aborts it when the
// input was not read to its end (standard output keeps what was written).
func (r *observeRun) finish(st observe.Stats, readErr error) error {
	switch r.f.format {
	case "table":
		r.writeErr = errors.Join(r.writeErr, r.summary.WriteTable(r.out))
	case "prom":
		r.writeErr = errors.Join(r.writeErr, observe.WriteProm(r.out, r.reg))
	}
	if readErr != nil && r.f.output != "" && r.f.output != "-" {
		r.out.Abort()
		r.printStats(st)
		return failuref("%w; %s not written", readErr, r.f.output)
	}
	if err := errors.Join(r.writeErr, r.out.Commit()); err != nil {
		return failuref("writing the report: %w", err)
	}
	r.printStats(st)
	if readErr != nil {
		return failuref("%w", readErr)
	}
	if r.f.failUnlessPQ && r.notPQ > 0 {
		fmt.Fprintf(r.s.errOut, "pqtls observe: %d completed handshake(s) without a hybrid or ML-KEM group\n", r.notPQ)
		return silentExit(exitFailure)
	}
	return nil
}

// observeLogger prints the analyzer's warnings (a capture cut inside a
// packet) on standard error, without a timestamp; debug lines are dropped.
func observeLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}

func (r *observeRun) printStats(st observe.Stats) {
	if r.logs != nil {
		printLogStats(r.s.errOut, r.logs.Stats())
	} else {
		printObserveStats(r.s.errOut, st, r.f.maxBuffer)
	}
}

func printLogStats(w io.Writer, st accesslog.Stats) {
	fmt.Fprintf(w, "pqtls observe: %d log lines read, %d TLS handshakes, %d non-TLS lines", st.Lines, st.Handshakes, st.NotTLS)
	if st.Repeats > 0 {
		fmt.Fprintf(w, ", %d later requests on an already counted connection", st.Repeats)
	}
	if st.Bad > 0 {
		nums := make([]string, len(st.BadLines))
		for i, n := range st.BadLines {
			nums[i] = strconv.FormatInt(n, 10)
		}
		more := ""
		if st.Bad > int64(len(st.BadLines)) {
			more = ", ..."
		}
		fmt.Fprintf(w, ", %d bad lines skipped (lines %s%s; first: %s)", st.Bad, strings.Join(nums, ", "), more, report.TermSafe(st.FirstBad))
	}
	fmt.Fprintln(w)
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
