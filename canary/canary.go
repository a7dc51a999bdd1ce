package canary

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/starttls"
	"github.com/pqtls/pqtls/internal/wire"
)

// Schema versions the JSON form of Report.
const Schema = "pqtls.canary/v1"

// Defaults for Options.
const (
	DefaultCount      = 5
	DefaultTimeout    = 5 * time.Second
	DefaultSplitPause = 50 * time.Millisecond
	// MaxCount bounds Options.Count.
	MaxCount = 10000
)

// PMTU probe modes.
const (
	// PMTUAuto probes when the process may open a raw ICMP socket.
	PMTUAuto = "auto"
	// PMTUOn probes, and reports why when it cannot.
	PMTUOn = "on"
	// PMTUOff never probes.
	PMTUOff = "off"
)

// Options configures Run.
type Options struct {
	// Target is host:port of the server, as the client reaches it.
	Target string
	// ServerName is the SNI sent. Empty: the host part of Target, unless it
	// is an IP address (then no SNI).
	ServerName string
	// Count repeats each case; default DefaultCount.
	Count int
	// Timeout bounds each attempt (connect, preamble and handshake);
	// default DefaultTimeout.
	Timeout time.Duration
	// SplitPause is the pause between the two TCP writes of the
	// hybrid-split-tcp case; default DefaultSplitPause.
	SplitPause time.Duration
	// StartTLS names a clear-text preamble to run first (one of
	// StartTLSProtocols, or an alias such as "pg"; internal/starttls
	// speaks them); empty or "none" for none.
	StartTLS string
	// Cases restricts the matrix to these case names (the classical
	// baselines always run). Empty runs every case.
	Cases []string
	// RootCAs verifies the server certificate in the full handshakes. Nil
	// does not verify it: the canary measures key exchange and sends no
	// application data.
	RootCAs *x509.CertPool
	// PMTU is PMTUAuto (default), PMTUOn or PMTUOff.
	PMTU string
	// RequireHybrid makes a server that negotiates only classical groups a
	// failed verdict (exit 1) instead of a safe one.
	RequireHybrid bool
	// Resolver looks the target's host name up (once per run); nil uses
	// net.DefaultResolver.
	Resolver *net.Resolver
	// Logger receives one debug line per attempt. Nil discards.
	Logger *slog.Logger
	// Progress, if set, is called after each attempt.
	Progress func(done, total int)
}

// Report is the result of Run. Its JSON form is versioned by Schema.
type Report struct {
	Schema     string       `json:"schema"`
	Target     string       `json:"target"`
	ServerName string       `json:"server_name"`
	StartTLS   string       `json:"starttls"`
	Count      int          `json:"count"`
	TimeoutMs  float64      `json:"timeout_ms"`
	Started    time.Time    `json:"started"`
	DurationMs float64      `json:"duration_ms"`
	Path       PathInfo     `json:"path"`
	Cases      []CaseResult `json:"cases"`
	Verdict    Verdict      `json:"verdict"`
}

// StartTLSProtocols lists the preambles Options.StartTLS accepts: every
// protocol of internal/starttls that sends clear text before TLS. (auto and
// postgres-direct are scan's: the canary takes no port default and its
// crafted ClientHellos carry no ALPN.)
var StartTLSProtocols = func() []string {
	var out []string
	for _, p := range starttls.All {
		if p.HasPreamble() {
			out = append(out, string(p))
		}
	}
	return out
}()

// CheckStartTLS returns an error naming the accepted values when s is not
// a valid Options.StartTLS ("" and "none" are valid: no preamble).
func CheckStartTLS(s string) error {
	p, err := starttls.Parse(s)
	if s == "" || err == nil && (p.HasPreamble() || p == starttls.None) {
		return nil
	}
	return fmt.Errorf("unsupported STARTTLS protocol %q: use one of %s, or none", s, strings.Join(StartTLSProtocols, ", "))
}

// Failure classes of an attempt.
const (
	ClassOK            = "ok"
	ClassTimeout       = "timeout"
	ClassReset         = "reset"
	ClassEOF           = "eof"
	ClassUnexpected    = "unexpected"
	ClassConnectFailed = "connect_failed"
	// ClassCertificate: a full handshake whose key exchange succeeded but
	// whose certificate did not verify against --ca (or --server-name). It
	// is not counted for or against hybrid.
	ClassCertificate = "certificate"
	// ClassAlertPrefix is followed by the alert name: "alert:handshake_failure".
	ClassAlertPrefix = "alert:"
)

// CaseResult aggregates the attempts of one case.
type CaseResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Kind is KindCrafted or KindHandshake.
	Kind string `json:"kind"`
	// Hybrid is true for the cases that offer a hybrid group first.
	Hybrid bool `json:"hybrid"`
	// Critical cases decide the verdict; the others only add warnings.
	Critical bool `json:"critical"`
	// Groups offered (supported_groups) and KeyShares sent, IANA names.
	Groups    []string `json:"groups"`
	KeyShares []string `json:"key_shares,omitempty"`
	// HelloBytes is the size of the ClientHello handshake message (header
	// included) of crafted cases; 0 for full handshakes.
	HelloBytes int `json:"hello_bytes,omitempty"`
	// Attempts, OK and SuccessRate (OK/Attempts).
	Attempts    int     `json:"attempts"`
	OK          int     `json:"ok"`
	SuccessRate float64 `json:"success_rate"`
	// Classes counts the attempts per failure class (ok, timeout, reset,
	// eof, alert:<name>, unexpected, connect_failed, certificate).
	Classes map[string]int `json:"classes"`
	// Answers counts what the server answered to crafted hellos:
	// server_hello, hello_retry_request (then server_hello after the retry
	// in the HRR case), alert...
	Answers map[string]int `json:"answers,omitempty"`
	// SelectedGroup is the group most often negotiated (ServerHello key
	// share, or the connection's group); empty when none succeeded.
	SelectedGroup string `json:"selected_group,omitempty"`
	// SelectedKind is the kind of SelectedGroup (hybrid, classical...).
	SelectedKind string `json:"selected_kind,omitempty"`
	// HelloRetries counts attempts where the server sent a HelloRetryRequest.
	HelloRetries int `json:"hello_retries"`
	// Version is the TLS version most often negotiated.
	Version string `json:"version,omitempty"`
	// Latency of successful attempts: crafted cases from the first byte of
	// the ClientHello to the server's answer (HRR case: to the ServerHello
	// after the retry), full handshakes the whole handshake. TCP connect,
	// STARTTLS preamble and the split-tcp pause are excluded.
	Latency Latency `json:"latency"`
	// Connect is the TCP connect time of the attempts that connected.
	Connect Latency `json:"connect"`
	// BytesSent and BytesReceived are medians over successful attempts (all
	// attempts when none succeeded), TLS bytes only.
	BytesSent     int `json:"bytes_sent"`
	BytesReceived int `json:"bytes_received"`
	// Errors lists up to three distinct error messages.
	Errors []string `json:"errors,omitempty"`
}

// attempt is the outcome of one try of one case.
type attempt struct {
	class          string
	answer         string
	group          tls.CurveID
	version        uint16
	hrr            bool
	latency        time.Duration
	connect        time.Duration
	connected      bool
	sent, received int
	// hello is the size of the (first) ClientHello message, crafted cases.
	hello int
	err   error
}

// runner holds what every attempt needs.
type runner struct {
	opts       Options
	serverName string
	// addrs are the target's resolved addresses (host:port).
	addrs []string
	log   *slog.Logger
	path  *PathInfo
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// validate fills defaults and checks o.
func (o *Options) validate() error {
	if o.Target == "" {
		return errors.New("no target: give host:port of the TLS server")
	}
	host, port, err := net.SplitHostPort(o.Target)
	if err != nil {
		return fmt.Errorf("target %q: %w: give host:port, e.g. db.internal:5432", o.Target, err)
	}
	if host == "" {
		return fmt.Errorf("target %q has no host: give host:port", o.Target)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("target %q: port must be 1-65535", o.Target)
	}
	if o.Count == 0 {
		o.Count = DefaultCount
	}
	if o.Count < 1 || o.Count > MaxCount {
		return fmt.Errorf("count %d out of range: use 1 to %d", o.Count, MaxCount)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Timeout < 0 {
		return fmt.Errorf("timeout %v is negative", o.Timeout)
	}
	if o.SplitPause == 0 {
		o.SplitPause = DefaultSplitPause
	}
	if o.SplitPause < 0 || o.SplitPause >= o.Timeout {
		return fmt.Errorf("split pause %v must be positive and shorter than the timeout %v", o.SplitPause, o.Timeout)
	}
	if err := CheckStartTLS(o.StartTLS); err != nil {
		return err
	}
	if o.StartTLS != "" {
		p, _ := starttls.Parse(o.StartTLS)
		o.StartTLS = string(p)
		if p == starttls.None {
			o.StartTLS = ""
		}
	}
	switch o.PMTU {
	case "":
		o.PMTU = PMTUAuto
	case PMTUAuto, PMTUOn, PMTUOff:
	default:
		return fmt.Errorf("PMTU probe mode %q: use auto, on or off", o.PMTU)
	}
	return nil
}

// ValidateOptions checks o without running anything, filling defaults, so
// that a command line can report usage errors before any network traffic.
func ValidateOptions(o *Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	_, err := selectCases(o.Cases)
	return err
}

// Run executes the matrix against o.Target and returns the report. The
// error is for invalid options only (see ValidateOptions); network results
// are in the report. Cancelling ctx stops the run early with the attempts
// made so far.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	cases, err := selectCases(o.Cases)
	if err != nil {
		return nil, err
	}
	r := &runner{opts: o, log: o.Logger}
	if r.log == nil {
		r.log = discard()
	}
	host, _, _ := net.SplitHostPort(o.Target)
	r.serverName = o.ServerName
	if r.serverName == "" && net.ParseIP(host) == nil {
		r.serverName = host
	}
	rep := &Report{Schema: Schema, Target: o.Target, ServerName: r.serverName, StartTLS: o.StartTLS,
		Count: o.Count, TimeoutMs: ms(o.Timeout), Started: time.Now().UTC()}

	results := make([][]attempt, len(cases))
	total, done := o.Count*len(cases), 0
	resolveErr := r.resolve(ctx)
	stoppedEarly := false
	// Rounds interleave the cases, so that a change of conditions during
	// the run affects every case alike.
	for round := 0; round < o.Count && !stopped(ctx) && resolveErr == nil && !stoppedEarly; round++ {
		for i, c := range cases {
			if stopped(ctx) {
				break
			}
			a := r.attempt(ctx, c)
			if stopped(ctx) {
				// Cut short by the cancel, not by the path: its class
				// (a timeout) would be a false finding.
				break
			}
			results[i] = append(results[i], a)
			r.log.Debug("canary attempt", "case", c.name, "round", round, "class", a.class, "answer", a.answer,
				"group", groupName(a.group), "latency_ms", ms(a.latency), "sent", a.sent, "received", a.received, "error", a.err)
			done++
			if o.Progress != nil {
				o.Progress(done, total)
			}
			if done == 1 && c.name == CaseClassical && noTLS(a.class) {
				// No TLS answer to the smallest classical hello: the
				// rest of the matrix would only wait for the same
				// failure (a silent server: count x cases x timeout).
				stoppedEarly = true
				break
			}
		}
	}
	for i, c := range cases {
		cr := aggregate(c, results[i])
		if c.kind == KindCrafted && cr.HelloBytes == 0 {
			if ch, err := r.newHello(c); err == nil {
				if msg, err := ch.Marshal(); err == nil {
					cr.HelloBytes = len(msg)
				}
			}
		}
		rep.Cases = append(rep.Cases, cr)
	}
	if r.path != nil {
		rep.Path = *r.path
	} else {
		rep.Path.Notes = append(rep.Path.Notes, "no connection succeeded: path details unknown")
	}
	switch {
	case o.PMTU == PMTUOff || stopped(ctx) || resolveErr != nil:
	case r.path == nil:
		rep.Path.PMTU = &PMTUResult{Status: PMTUStatusSkipped, Reason: "no connection succeeded, so the interface towards the target is unknown"}
	default:
		rep.Path.PMTU = probePMTU(ctx, o.Target, rep.Path)
		if stopped(ctx) {
			// Probes cut short read as lost packets: no finding.
			rep.Path.PMTU = &PMTUResult{Status: PMTUStatusSkipped, Reason: "interrupted before the probe finished", Probes: rep.Path.PMTU.Probes}
		}
	}
	e := gather(rep, o.RequireHybrid)
	e.Interrupted, e.Done, e.Total = stopped(ctx), done, total
	e.ResolveErr, e.StoppedEarly = resolveErr, stoppedEarly
	rep.Verdict = decideEvidence(e)
	if pm := rep.Path.PMTU; o.PMTU == PMTUOn && pm != nil && pm.Status != PMTUStatusOK {
		rep.Verdict.Warnings = append(rep.Verdict.Warnings, fmt.Sprintf("the DF-bit path-MTU probe (--pmtu on) did not run to the end: %s: %s", pm.Status, pm.Reason))
	}
	rep.DurationMs = ms(time.Since(rep.Started))
	return rep, nil
}

// stopped reports whether ctx is cancelled or past its deadline. ctx.Err()
// alone lags a passed deadline by a scheduler tick, long enough for a tight
// loop of instantly failing dials to record hundreds of false timeouts.
func stopped(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// noTLS reports whether an attempt's class says that no TLS server
// answered: refused, silent, closed, or not TLS (an alert is a TLS answer).
func noTLS(class string) bool {
	return class != ClassOK && class != ClassCertificate && !strings.HasPrefix(class, ClassAlertPrefix)
}

// resolve looks the target's host name up once: an unknown name fails at
// once (as pqtls scan does), and the attempts dial the addresses found
// instead of asking the resolver each time.
func (r *runner) resolve(ctx context.Context) error {
	host, port, _ := net.SplitHostPort(r.opts.Target)
	if net.ParseIP(host) != nil {
		r.addrs = []string{r.opts.Target}
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	res := r.opts.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	ips, err := res.LookupHost(lctx, host)
	if err != nil {
		if stopped(ctx) {
			return nil // interrupted: no finding, and no attempt runs
		}
		return err
	}
	for _, ip := range ips {
		r.addrs = append(r.addrs, net.JoinHostPort(ip, port))
	}
	return nil
}

// dialAny connects to the first resolved address that accepts.
func (r *runner) dialAny(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	first := errors.New("no address to dial")
	for i, addr := range r.addrs {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn, nil
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

// dial connects, runs the STARTTLS preamble and records path details once.
func (r *runner) dial(ctx context.Context, a *attempt) (net.Conn, error) {
	start := time.Now()
	conn, err := r.dialAny(ctx)
	if err != nil {
		a.class = ClassConnectFailed
		if wire.ClassifyError(err) == wire.OutcomeTimeout {
			a.class = ClassTimeout
		}
		a.err = fmt.Errorf("connect: %w", err)
		return nil, err
	}
	a.connect = time.Since(start)
	a.connected = true
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, _, err := starttls.Negotiate(ctx, conn, starttls.Protocol(r.opts.StartTLS), r.serverName); err != nil {
		_ = conn.Close()
		a.class = classOf(err)
		if errors.Is(err, starttls.ErrRefused) {
			a.class = ClassUnexpected
		}
		a.err = err
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	return conn, nil
}

// notePath records path details from a connection that got an answer: the
// first one, then each classical baseline, so that the report shows the
// kernel's estimates from the latest small, undisturbed exchange.
func (r *runner) notePath(conn net.Conn, c caseSpec) {
	if r.path != nil && c.name != CaseClassical {
		return
	}
	p := pathInfo(conn)
	r.path = &p
}

func (r *runner) attempt(ctx context.Context, c caseSpec) attempt {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	var a attempt
	conn, err := r.dial(ctx, &a)
	if err != nil {
		return a
	}
	defer conn.Close()
	if c.kind == KindHandshake {
		r.handshake(ctx, conn, c, &a)
	} else {
		r.crafted(ctx, conn, c, &a)
	}
	if a.class == ClassOK {
		r.notePath(conn, c)
	}
	return a
}

// newHello builds the ClientHello of a crafted case with real key shares.
func (r *runner) newHello(c caseSpec) (*wire.ClientHello, error) {
	ch := wire.NewClientHello13(r.serverName)
	ch.SupportedGroups = c.groups
	shares, err := wire.GenerateKeyShares(c.shares...)
	if err != nil {
		return nil, err
	}
	ch.KeyShares = shares
	ch.PadTo = c.padTo
	return ch, nil
}

// exchangeOptions derives how to send hello bytes of msgLen for case c.
func (r *runner) exchangeOptions(c caseSpec, msgLen int) wire.ExchangeOptions {
	var eo wire.ExchangeOptions
	if c.records > 1 {
		frag := (msgLen + c.records - 1) / c.records
		for i := 1; i < c.records; i++ {
			eo.RecordFragments = append(eo.RecordFragments, frag)
		}
	}
	if c.splitTCP {
		// Split in the middle of the first record: the first segment holds
		// the record header and half the hello, so one read() cannot see a
		// complete ClientHello.
		eo.Segments = []int{wire.RecordHeaderLen + msgLen/2}
		eo.Pause = r.opts.SplitPause
	}
	return eo
}

func (r *runner) crafted(ctx context.Context, conn net.Conn, c caseSpec, a *attempt) {
	ch, err := r.newHello(c)
	if err == nil {
		var msg []byte
		if msg, err = ch.Marshal(); err == nil {
			a.hello = len(msg)
			eo := r.exchangeOptions(c, len(msg))
			start := time.Now()
			var res *wire.ExchangeResult
			res, err = wire.Exchange(ctx, conn, ch, eo)
			if err == nil {
				a.sent, a.received = res.BytesSent, int(res.BytesReceived)
				checkAnswer(res, ch)
				if c.hrr && res.Outcome == wire.OutcomeHelloRetryRequest {
					a.hrr = true
					res, err = r.retry(ctx, conn, ch, res, a)
				}
				a.latency = time.Since(start)
				if c.splitTCP {
					// Report the server's latency, not the pause we made.
					a.latency = max(0, a.latency-eo.Pause)
				}
			}
			if err == nil {
				r.classifyExchange(res, a)
				return
			}
		}
	}
	// A hello that does not build is a bug, not a network result.
	a.class, a.err = ClassUnexpected, fmt.Errorf("internal: building the ClientHello: %w", err)
}

// retry answers a HelloRetryRequest with the second ClientHello (preceded by
// the middlebox-compatibility ChangeCipherSpec, RFC 8446 appendix D.4) and
// reads the ServerHello.
func (r *runner) retry(ctx context.Context, conn net.Conn, ch *wire.ClientHello, hrr *wire.ExchangeResult, a *attempt) (*wire.ExchangeResult, error) {
	ch2, err := ch.Retry(hrr.ServerHello)
	if err != nil {
		// The HRR itself is invalid for our hello: a server bug.
		return &wire.ExchangeResult{Outcome: wire.OutcomeMalformed, Err: err}, nil
	}
	recs, err := ch2.MarshalRecords()
	if err != nil {
		return nil, err
	}
	ccs := []byte{byte(wire.ContentChangeCipherSpec), 0x03, 0x03, 0x00, 0x01, 0x01}
	res, err := wire.ExchangeRaw(ctx, conn, append(ccs, recs...), wire.ExchangeOptions{})
	if err != nil {
		return nil, err
	}
	a.sent += res.BytesSent
	a.received += int(res.BytesReceived)
	checkAnswer(res, ch2)
	if res.Outcome == wire.OutcomeHelloRetryRequest {
		// RFC 8446 section 4.1.4: a second HelloRetryRequest is a protocol
		// violation.
		res.Outcome, res.Err = wire.OutcomeMalformed, errors.New("server sent a second HelloRetryRequest")
	}
	return res, nil
}

// checkAnswer turns a ServerHello or HelloRetryRequest that is not a valid
// answer to ch (wire's CheckAgainst: session ID echo, offered suite,
// version and group) into a malformed outcome: a device answering in the
// server's place, or a confused server, must not count as ok.
func checkAnswer(res *wire.ExchangeResult, ch *wire.ClientHello) {
	if res.ServerHello == nil || res.Outcome != wire.OutcomeServerHello && res.Outcome != wire.OutcomeHelloRetryRequest {
		return
	}
	if err := res.ServerHello.CheckAgainst(ch); err != nil {
		res.Outcome, res.Err = wire.OutcomeMalformed, err
	}
}

func (r *runner) classifyExchange(res *wire.ExchangeResult, a *attempt) {
	a.answer = string(res.Outcome)
	switch res.Outcome {
	case wire.OutcomeServerHello, wire.OutcomeHelloRetryRequest:
		a.class = ClassOK
		a.group = res.ServerHello.SelectedGroup
		a.version = res.ServerHello.Version()
	case wire.OutcomeAlert:
		a.class = ClassAlertPrefix + res.Alert.Description.String()
		a.err = res.Alert
	case wire.OutcomeTimeout:
		a.class, a.err = ClassTimeout, res.Err
	case wire.OutcomeReset:
		a.class, a.err = ClassReset, res.Err
	case wire.OutcomeEOF:
		a.class, a.err = ClassEOF, res.Err
	default:
		a.class, a.err = ClassUnexpected, res.Err
	}
}

// handshake runs a full handshake with Go's client.
func (r *runner) handshake(ctx context.Context, conn net.Conn, c caseSpec, a *attempt) {
	cc := &starttls.CountingConn{Conn: conn}
	cfg := &tls.Config{
		ServerName:       r.serverName,
		CurvePreferences: c.groups,
		MinVersion:       tls.VersionTLS12,
		RootCAs:          r.opts.RootCAs,
		// Without RootCAs the canary does not authenticate the server: it
		// measures key exchange and sends no application data.
		InsecureSkipVerify: r.opts.RootCAs == nil, //nolint:gosec // documented: measurement only, no data sent
	}
	if cfg.ServerName == "" && cfg.RootCAs != nil {
		// Verify an IP-address target against the certificate's IP SANs
		// (crypto/tls sends no SNI for an IP).
		cfg.ServerName, _, _ = net.SplitHostPort(r.opts.Target)
	}
	tc := tls.Client(cc, cfg)
	start := time.Now()
	err := tc.HandshakeContext(ctx)
	a.latency = time.Since(start)
	a.sent, a.received = cc.Sent, cc.Received
	if err != nil {
		a.class, a.err = classOf(err), err
		var cve *tls.CertificateVerificationError
		if errors.As(err, &cve) {
			a.class = ClassCertificate
		}
		return
	}
	cs := tc.ConnectionState()
	a.class, a.answer = ClassOK, "handshake_complete"
	a.group, a.version = cs.CurveID, cs.Version
}

// classOf maps an error of a crypto/tls handshake or a preamble to a class.
func classOf(err error) string {
	switch reason := pqtls.ErrorReason(err); {
	case reason == pqtls.ReasonTimeout, reason == pqtls.ReasonCanceled:
		return ClassTimeout
	case reason == pqtls.ReasonReset:
		return ClassReset
	case reason == pqtls.ReasonEOF:
		return ClassEOF
	case strings.HasPrefix(reason, "alert_"):
		return ClassAlertPrefix + strings.TrimPrefix(reason, "alert_")
	}
	return ClassUnexpected
}

func groupName(id tls.CurveID) string {
	if id == 0 {
		return ""
	}
	return pqtls.GroupName(id)
}

// aggregate turns attempts into a CaseResult.
func aggregate(c caseSpec, as []attempt) CaseResult {
	cr := CaseResult{Name: c.name, Description: c.description, Kind: c.kind, Hybrid: c.hybrid, Critical: c.critical,
		Attempts: len(as), Classes: map[string]int{}}
	for _, g := range c.groups {
		cr.Groups = append(cr.Groups, pqtls.GroupName(g))
	}
	if c.kind == KindCrafted {
		cr.Answers = map[string]int{}
		for _, g := range c.shares {
			cr.KeyShares = append(cr.KeyShares, pqtls.GroupName(g))
		}
	}
	var lat, conn []time.Duration
	var sentOK, recvOK, sentAll, recvAll []int
	groups, versions := map[tls.CurveID]int{}, map[uint16]int{}
	errs := map[string]bool{}
	for _, a := range as {
		cr.Classes[a.class]++
		if a.answer != "" && cr.Answers != nil {
			cr.Answers[a.answer]++
		}
		if a.connected {
			conn = append(conn, a.connect)
		}
		cr.HelloBytes = max(cr.HelloBytes, a.hello)
		if a.hrr {
			cr.HelloRetries++
		}
		sentAll, recvAll = append(sentAll, a.sent), append(recvAll, a.received)
		if a.class == ClassOK {
			cr.OK++
			lat = append(lat, a.latency)
			sentOK, recvOK = append(sentOK, a.sent), append(recvOK, a.received)
			groups[a.group]++
			versions[a.version]++
		} else if a.err != nil && len(cr.Errors) < 3 && !errs[a.err.Error()] {
			errs[a.err.Error()] = true
			cr.Errors = append(cr.Errors, a.err.Error())
		}
	}
	if cr.Attempts > 0 {
		cr.SuccessRate = float64(cr.OK) / float64(cr.Attempts)
	}
	cr.Latency, cr.Connect = summarize(lat), summarize(conn)
	if cr.OK > 0 {
		cr.BytesSent, cr.BytesReceived = medianInt(sentOK), medianInt(recvOK)
	} else {
		cr.BytesSent, cr.BytesReceived = medianInt(sentAll), medianInt(recvAll)
	}
	if g := mostCommon(groups); g != 0 {
		cr.SelectedGroup = pqtls.GroupName(g)
		cr.SelectedKind = string(pqtls.GroupKind(g))
	}
	if v := mostCommon(versions); v != 0 {
		cr.Version = pqtls.VersionName(v)
	}
	return cr
}

func mostCommon[K comparable](m map[K]int) K {
	var best K
	n := 0
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, k := range keys {
		if m[k] > n {
			best, n = k, m[k]
		}
	}
	return best
}
