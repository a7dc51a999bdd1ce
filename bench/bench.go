// Package bench is a small TLS load generator: N concurrent handshakes,
// request/response round trips, bulk echo streams or idle connections
// against any TLS (or plaintext) target, reporting rate, latency
// percentiles and the negotiated groups. It backs 'pqtls bench', which
// operators use to measure what hybrid key exchange costs on their servers.
package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/latency"
)

// Schema versions the JSON form of Result.
const Schema = "pqtls.bench/v1"

// Mode is what each worker does.
type Mode string

// Modes.
const (
	// ModeHandshake: connect, full handshake, close; repeat.
	ModeHandshake Mode = "handshake"
	// ModeRR: one connection per worker; write Size bytes, read them back
	// (the target must echo); repeat. Latency is per round trip.
	ModeRR Mode = "rr"
	// ModeThroughput: one connection per worker streams data for the
	// duration while reading the echo; reports echoed bytes per second.
	ModeThroughput Mode = "throughput"
	// ModeIdle: open Concurrency connections (handshake plus one small
	// round trip), hold them idle for the duration, then close.
	ModeIdle Mode = "idle"
)

// ParseMode parses a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeHandshake, ModeRR, ModeThroughput, ModeIdle:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q: use handshake, rr, throughput or idle", s)
}

// Options configures Run.
type Options struct {
	// Target is host:port or unix:/path.
	Target string
	// TLS is the client configuration. Nil means the target speaks
	// plaintext (e.g. a tunnel client-mode listener).
	TLS *tls.Config
	// Mode is what each worker does (default handshake).
	Mode Mode
	// Concurrency is the number of workers (idle: connections). Default 8.
	Concurrency int
	// Duration bounds the run (idle: how long connections are held).
	// Default 10 s.
	Duration time.Duration
	// Count stops handshake and rr runs after exactly this many successful
	// operations, shared among the workers (0: run for Duration).
	Count int64
	// Size is the payload per round trip (rr, idle) or per write
	// (throughput). Defaults: 64 B, 16 B, 32 KiB.
	Size int
	// Timeout bounds each network step. Default 10 s.
	Timeout time.Duration
	// OnReady, if set, is called in idle mode once every connection is
	// open (with how many succeeded), before the hold.
	OnReady func(open int)
	// Resolver looks the target's host name up, once per run; nil uses
	// net.DefaultResolver.
	Resolver *net.Resolver
}

// Latency summarises operation latencies in milliseconds.
type Latency = latency.Summary

// Result is the outcome of a run; its JSON form is versioned by Schema.
type Result struct {
	Schema          string           `json:"schema"`
	Mode            Mode             `json:"mode"`
	Target          string           `json:"target"`
	TLS             bool             `json:"tls"`
	Concurrency     int              `json:"concurrency"`
	Size            int              `json:"size_bytes"`
	DurationSeconds float64          `json:"duration_seconds"`
	Operations      int64            `json:"operations"`
	Errors          int64            `json:"errors"`
	ErrorReasons    map[string]int64 `json:"error_reasons"`
	Rate            float64          `json:"operations_per_second"`
	Latency         Latency          `json:"latency"`
	Groups          map[string]int64 `json:"groups"`
	Versions        map[string]int64 `json:"versions"`
	EchoedBytes     int64            `json:"echoed_bytes"`
	BytesPerSecond  float64          `json:"echoed_bytes_per_second"`
	OpenConnections int              `json:"open_connections,omitempty"`
	// FirstError is the text of one error, to start the diagnosis.
	FirstError string `json:"first_error,omitempty"`
}

type worker struct {
	lat      []time.Duration
	ops      int64
	quota    int64 // with Options.Count: this worker's share of it
	errs     map[string]int64
	groups   map[string]int64
	versions map[string]int64
	bytes    int64
	firstErr error
	// ready is when the last connect finished its handshake (before any
	// wait for a post-handshake refusal), the end of a handshake sample.
	ready time.Time
}

func (w *worker) fail(err error) {
	w.errs[pqtls.ErrorReason(err)]++
	if w.firstErr == nil {
		w.firstErr = err
	}
}

// ParseTarget checks a target, "host:port" or "unix:/path", and returns
// the network and address to dial. A target without a port is an error.
func ParseTarget(target string) (network, addr string, err error) {
	target = strings.TrimSpace(target)
	if p, ok := strings.CutPrefix(target, "unix:"); ok {
		if p == "" {
			return "", "", fmt.Errorf("target %q: give unix:/path/to/socket", target)
		}
		return "unix", p, nil
	}
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return "", "", fmt.Errorf("target %q: give host:port (e.g. db.internal:5433) or unix:/path", target)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("target %q: port must be a number from 1 to 65535", target)
	}
	if host == "" {
		return "", "", fmt.Errorf("target %q has no host: give host:port", target)
	}
	return "tcp", target, nil
}

// withDefaults checks o and fills its defaults.
func (o *Options) withDefaults() error {
	if o.Target == "" {
		return errors.New("no target: give host:port or unix:/path")
	}
	if o.Mode == "" {
		o.Mode = ModeHandshake
	}
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return err
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Size <= 0 {
		o.Size = map[Mode]int{ModeRR: 64, ModeIdle: 16, ModeThroughput: 32 << 10, ModeHandshake: 0}[o.Mode]
	}
	return nil
}

// newRunner resolves the target once (an unknown name fails here, not once
// per attempt) and prepares the TLS configuration.
func newRunner(ctx context.Context, o Options) (*runner, error) {
	network, addr, err := ParseTarget(o.Target)
	if err != nil {
		return nil, err
	}
	b := &runner{o: o, network: network, addrs: []string{addr}}
	if o.TLS != nil {
		b.tlsCfg = o.TLS.Clone()
		if b.tlsCfg.ServerName == "" && !b.tlsCfg.InsecureSkipVerify && network == "tcp" {
			b.tlsCfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
	}
	if network != "tcp" {
		return b, nil
	}
	host, port, _ := net.SplitHostPort(addr)
	if net.ParseIP(host) != nil {
		return b, nil
	}
	lctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	res := o.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	ips, err := res.LookupHost(lctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", host, err)
	}
	b.addrs = b.addrs[:0]
	for _, ip := range ips {
		b.addrs = append(b.addrs, net.JoinHostPort(ip, port))
	}
	return b, nil
}

// Run executes the benchmark. It returns an error for bad options, a name
// that does not resolve, an echo mode against a target that does not echo,
// and when not a single operation succeeded.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.withDefaults(); err != nil {
		return nil, err
	}
	b, err := newRunner(ctx, o)
	if err != nil {
		return nil, err
	}
	if o.Mode != ModeHandshake {
		if err := b.checkEcho(ctx); err != nil {
			return nil, err
		}
	}
	rctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	workers := make([]*worker, o.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	var opened atomic.Int64
	var readyWG sync.WaitGroup
	if o.Mode == ModeIdle {
		readyWG.Add(o.Concurrency)
		wg.Add(1)
		go func() {
			defer wg.Done()
			readyWG.Wait()
			if o.OnReady != nil && !over(rctx) {
				o.OnReady(int(opened.Load()))
			}
		}()
	}
	dialSem := make(chan struct{}, 64)
	for i := range workers {
		w := &worker{errs: map[string]int64{}, groups: map[string]int64{}, versions: map[string]int64{}}
		if o.Count > 0 {
			w.quota = o.Count / int64(o.Concurrency)
			if int64(i) < o.Count%int64(o.Concurrency) {
				w.quota++
			}
		}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch o.Mode {
			case ModeHandshake:
				b.handshakes(rctx, w)
			case ModeRR:
				b.roundTrips(rctx, w)
			case ModeThroughput:
				b.stream(rctx, w)
			case ModeIdle:
				b.idle(rctx, w, dialSem, &readyWG, &opened)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if o.Mode == ModeIdle {
		elapsed = o.Duration
	}
	res := &Result{Schema: Schema, Mode: o.Mode, Target: o.Target, TLS: o.TLS != nil, Concurrency: o.Concurrency, Size: o.Size,
		DurationSeconds: elapsed.Seconds(), ErrorReasons: map[string]int64{}, Groups: map[string]int64{}, Versions: map[string]int64{},
		OpenConnections: int(opened.Load())}
	var all []time.Duration
	for _, w := range workers {
		res.Operations += w.ops
		res.EchoedBytes += w.bytes
		all = append(all, w.lat...)
		if w.firstErr != nil && res.FirstError == "" {
			res.FirstError = w.firstErr.Error()
		}
		for k, v := range w.errs {
			res.ErrorReasons[k] += v
			res.Errors += v
		}
		for k, v := range w.groups {
			res.Groups[k] += v
		}
		for k, v := range w.versions {
			res.Versions[k] += v
		}
	}
	res.Rate = float64(res.Operations) / elapsed.Seconds()
	res.BytesPerSecond = float64(res.EchoedBytes) / elapsed.Seconds()
	res.Latency = summarize(all)
	if res.Operations == 0 && res.Errors > 0 {
		return res, fmt.Errorf("no operation succeeded against %s: %d errors (%s)", o.Target, res.Errors, reasons(res.ErrorReasons))
	}
	return res, nil
}

// reasons formats error counts as "reason=n ...", by reason name.
func reasons(m map[string]int64) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func summarize(d []time.Duration) Latency { return latency.Summarize(d) }

type runner struct {
	o       Options
	network string
	// addrs are the resolved addresses, dialled in order.
	addrs   []string
	tlsCfg  *tls.Config
	backoff backoff
}

// dial connects to the first address that accepts.
func (b *runner) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	var first error
	for i, addr := range b.addrs {
		c, err := d.DialContext(ctx, b.network, addr)
		if err == nil {
			return c, nil
		}
		if i == 0 {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// connect dials and, for TLS targets, completes the handshake. In handshake
// mode it also waits briefly for a refusal the server sends only after the
// client's Finished (see confirm).
func (b *runner) connect(ctx context.Context, w *worker) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
	defer cancel()
	raw, err := b.dial(dctx)
	if err != nil {
		return nil, err
	}
	if b.tlsCfg == nil {
		w.ready = time.Now()
		return raw, nil
	}
	cfg, probe := b.tlsCfg, (*refusalProbe)(nil)
	if b.o.Mode == ModeHandshake {
		cfg, probe = newRefusalProbe(b.tlsCfg)
	}
	c := tls.Client(raw, cfg)
	start := time.Now()
	if err := c.HandshakeContext(dctx); err != nil {
		_ = raw.Close()
		return nil, err
	}
	w.ready = time.Now()
	if err := probe.confirm(c, w.ready.Sub(start), b.o.Timeout); err != nil {
		_ = raw.Close()
		return nil, err
	}
	cs := c.ConnectionState()
	w.groups[pqtls.GroupName(cs.CurveID)]++
	w.versions[pqtls.VersionName(cs.Version)]++
	return c, nil
}

// over reports whether the run is over: cancelled, or past its deadline
// (checked against the clock: the context's timer may fire late on a busy
// machine, and failures in that window are not errors of the target).
func over(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

func (b *runner) done(ctx context.Context, w *worker) bool {
	return over(ctx) || (b.o.Count > 0 && w.ops >= w.quota)
}

// connectOrWait connects for w; on failure it calls failed and returns nil.
func (b *runner) connectOrWait(ctx context.Context, w *worker) net.Conn {
	c, err := b.connect(ctx, w)
	if err != nil {
		b.failed(ctx, w, err)
		return nil
	}
	b.backoff.reset()
	return c
}

// failed counts err for w and, unless the run is over, waits the shared
// backoff: a refused or failing target must not turn the workers into a
// busy loop that floods its log.
func (b *runner) failed(ctx context.Context, w *worker, err error) {
	if !over(ctx) {
		w.fail(err)
		b.backoff.wait(ctx)
	}
}

func (b *runner) handshakes(ctx context.Context, w *worker) {
	for !b.done(ctx, w) {
		start := time.Now()
		c := b.connectOrWait(ctx, w)
		if c == nil {
			continue
		}
		w.lat = append(w.lat, w.ready.Sub(start))
		w.ops++
		_ = c.Close()
	}
}

func (b *runner) roundTrips(ctx context.Context, w *worker) {
	buf := make([]byte, b.o.Size)
	in := make([]byte, b.o.Size)
	for !b.done(ctx, w) {
		c := b.connectOrWait(ctx, w)
		if c == nil {
			continue
		}
		for !b.done(ctx, w) {
			start := time.Now()
			_ = c.SetDeadline(start.Add(b.o.Timeout))
			_, err := c.Write(buf)
			if err == nil {
				_, err = io.ReadFull(c, in)
			}
			if err != nil {
				b.failed(ctx, w, err)
				break
			}
			w.lat = append(w.lat, time.Since(start))
			w.ops++
		}
		_ = c.Close()
	}
}

func (b *runner) stream(ctx context.Context, w *worker) {
	c, err := b.connect(ctx, w)
	if err != nil {
		w.fail(err)
		return
	}
	defer c.Close()
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, b.o.Size)
		for !over(ctx) {
			_ = c.SetWriteDeadline(time.Now().Add(b.o.Timeout))
			if _, err := c.Write(buf); err != nil {
				errc <- err
				return
			}
		}
		switch cw := c.(type) {
		case *tls.Conn:
			errc <- cw.CloseWrite()
		case interface{ CloseWrite() error }:
			errc <- cw.CloseWrite()
		default:
			errc <- nil
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		_ = c.SetReadDeadline(time.Now().Add(b.o.Timeout))
		n, err := c.Read(buf)
		if !over(ctx) {
			w.bytes += int64(n) // count only inside the measured window
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				w.fail(err)
			}
			break
		}
	}
	if err := <-errc; err != nil && !over(ctx) {
		w.fail(err)
	}
	w.ops++
}

func (b *runner) idle(ctx context.Context, w *worker, sem chan struct{}, ready *sync.WaitGroup, opened *atomic.Int64) {
	sem <- struct{}{}
	start := time.Now()
	c, err := b.connect(ctx, w)
	if err == nil {
		buf := make([]byte, b.o.Size)
		_ = c.SetDeadline(time.Now().Add(b.o.Timeout))
		if _, err = c.Write(buf); err == nil {
			_, err = io.ReadFull(c, buf)
		}
		_ = c.SetDeadline(time.Time{})
	}
	<-sem
	if err != nil {
		w.fail(err)
		ready.Done()
		if c != nil {
			_ = c.Close()
		}
		return
	}
	w.lat = append(w.lat, time.Since(start))
	w.ops++
	opened.Add(1)
	ready.Done()
	<-ctx.Done()
	_ = c.Close()
}
