// Package demo runs the self-contained 'pqtls demo': in-process servers and
// clients of each policy on loopback, and a report of what an operator needs
// to see (negotiated groups, ClientHello sizes, handshake latency, the refused
// classical client, and the metrics).
package demo

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/canary"
	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/internal/acceptloop"
	"github.com/pqtls/pqtls/scan"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Options configures Run.
type Options struct {
	// Handshakes is how many measured handshakes each case of the
	// hybrid-cost measurement runs, after Warmup unmeasured ones. Default
	// and minimum MinHandshakes.
	Handshakes int
}

// endpoint is one policy, used for a server and a client.
type endpoint struct {
	name   string
	policy pqtls.Policy
}

var endpoints = []endpoint{
	{"prefer (default)", pqtls.Policy{}},
	{"classical-only", pqtls.Policy{Mode: pqtls.ModeClassical}},
	{"require", pqtls.Policy{Mode: pqtls.ModeRequire}},
}

// extraClients are clients that exist only on the client side.
var extraClients = []endpoint{
	{"P-256 hybrid only", pqtls.Policy{Mode: pqtls.ModeRequire, Groups: []tls.CurveID{tls.SecP256r1MLKEM768}}},
	{"P-384 hybrid only", pqtls.Policy{Mode: pqtls.ModeRequire, Groups: []tls.CurveID{tls.SecP384r1MLKEM1024}}},
}

// Result is one client/server pair's outcome.
type Result struct {
	// Client and Server name the policies of the pair.
	Client, Server string
	// Group is the negotiated key-exchange group (0 when refused).
	Group tls.CurveID
	// HRR reports a HelloRetryRequest.
	HRR bool
	// Err is why the pair could not connect (a *pqtls.PolicyError when a
	// policy refused it).
	Err error
}

// Report is everything the demo measured; Run prints it.
type Report struct {
	// Pairs is every client/server combination, clients in order.
	Pairs []Result
	// Flights is what each client's handshake with the prefer server put
	// on the wire (client name -> bytes).
	Flights map[string]Flights
	// Cost is the one hybrid-cost measurement every section quotes.
	Cost      *Cost
	ServerLog string // the require server's log line for the refused client
	// MetricsText is the counters in Prometheus text format.
	MetricsText string
	Scans       []scan.Result             // pqtls scan of each server, in endpoints order
	Canary      map[string]canary.Verdict // pqtls canary verdict per server
	Tunnel      *TunnelResult
}

// Run runs the demo and writes the report to w.
func Run(ctx context.Context, w io.Writer, o Options) error {
	r, err := Measure(ctx, o)
	if err != nil {
		return err
	}
	Print(w, r)
	return nil
}

// Measure runs the servers and clients and returns the report.
func Measure(ctx context.Context, o Options) (*Report, error) {
	o.Handshakes = max(o.Handshakes, MinHandshakes)
	ca, err := devpki.NewCA("pqtls demo CA", devpki.ECDSAP256)
	if err != nil {
		return nil, err
	}
	leaf, err := ca.Issue(devpki.Request{CommonName: "demo.internal", Hosts: []string{"demo.internal", "127.0.0.1"}, Server: true})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	metrics, err := pqtls.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	logBuf := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelWarn}))

	servers, closeServers, err := startServers(leaf, metrics, logger)
	defer closeServers()
	if err != nil {
		return nil, err
	}

	rep := &Report{Flights: map[string]Flights{}}
	clients := append(slices.Clone(endpoints), extraClients...)
	cfgs := map[string]*tls.Config{}
	prefer := servers[endpoints[0].name]
	for _, c := range clients {
		cfg, err := pqtls.ClientConfig(pqtls.Options{Policy: c.policy, Base: &tls.Config{RootCAs: ca.Pool(), ServerName: "demo.internal"}})
		if err != nil {
			return nil, err
		}
		cfgs[c.name] = cfg
		for _, s := range endpoints {
			rep.Pairs = append(rep.Pairs, pair(ctx, c.name, s.name, servers[s.name], cfg, metrics))
		}
		res, err := oneHandshake(ctx, prefer, cfg)
		res.flights.Failed = err != nil
		rep.Flights[c.name] = res.flights
	}
	rep.Cost, err = measureCost(ctx, prefer, o.Handshakes,
		costCase{endpoints[0].name, cfgs[endpoints[0].name]}, costCase{endpoints[1].name, cfgs[endpoints[1].name]})
	if err != nil {
		return nil, err
	}
	// Section 2 quotes the same measurement for the two clients it covers.
	rep.Flights[rep.Cost.Hybrid.Client], rep.Flights[rep.Cost.Classical.Client] = rep.Cost.Hybrid.Bytes, rep.Cost.Classical.Bytes
	rep.ServerLog = strings.TrimSpace(firstLine(logBuf.String(), "refused classical-only client"))

	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	var mb bytes.Buffer
	for _, mf := range mfs {
		if strings.HasSuffix(mf.GetName(), "_seconds") {
			continue // the histogram is long; the counters tell the story
		}
		_, _ = expfmt.MetricFamilyToText(&mb, mf)
	}
	rep.MetricsText = mb.String()

	// Scan and canary last, so their probes do not show in the metrics
	// excerpt above.
	var targets []scan.Target
	for i, e := range endpoints {
		t, err := scan.ParseEndpoint(servers[e.name])
		if err != nil {
			return nil, err
		}
		t.Service, t.Source = e.name, fmt.Sprintf("demo server %d", i+1)
		targets = append(targets, t)
	}
	rep.Scans = scan.ScanAll(ctx, targets, scan.Options{Enumerate: true, ServerName: "demo.internal", RootCAs: ca.Pool(), Timeout: 5 * time.Second})
	rep.Canary = map[string]canary.Verdict{}
	for _, e := range endpoints {
		cr, err := canary.Run(ctx, canary.Options{Target: servers[e.name], ServerName: "demo.internal", Count: 3, RootCAs: ca.Pool(), PMTU: canary.PMTUOff, Timeout: 5 * time.Second})
		if err != nil {
			return nil, err
		}
		rep.Canary[e.name] = cr.Verdict
	}
	if rep.Tunnel, err = runTunnel(ctx, ca); err != nil {
		return nil, fmt.Errorf("tunnel: %w", err)
	}
	return rep, nil
}

// startServers starts one server per endpoint policy on 127.0.0.1 and
// returns their addresses by name.
func startServers(leaf *devpki.Cert, metrics *pqtls.Metrics, logger *slog.Logger) (map[string]string, func(), error) {
	servers := map[string]string{} // name -> addr
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for _, e := range endpoints {
		cfg, err := pqtls.ServerConfig(pqtls.Options{Policy: e.policy, Base: &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}}})
		if err != nil {
			return nil, closeAll, err
		}
		obs := &pqtls.Observer{Metrics: metrics}
		if e.policy.Mode == pqtls.ModeRequire {
			obs.Logger = logger
		}
		ln, err := pqtls.Listen("tcp", "127.0.0.1:0", cfg, pqtls.ListenerOptions{HandshakeTimeout: 5 * time.Second, Observer: obs})
		if err != nil {
			return nil, closeAll, err
		}
		lns = append(lns, ln)
		go serveEach(ln, func(c net.Conn) { _, _ = io.Copy(c, c) })
		servers[e.name] = ln.Addr().String()
	}
	return servers, closeAll, nil
}

// serveEach accepts on ln until it is closed and runs handle on each
// connection (5 s deadline, closed afterwards) in its own goroutine.
func serveEach(ln net.Listener, handle func(c net.Conn)) {
	for {
		c, err := acceptloop.Accept(ln, nil, nil)
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			handle(c)
		}()
	}
}

// pair runs one observed handshake of a client/server pair.
func pair(ctx context.Context, client, server, addr string, cfg *tls.Config, m *pqtls.Metrics) Result {
	res := Result{Client: client, Server: server}
	d := &pqtls.Dialer{Config: cfg, HandshakeTimeout: 5 * time.Second, Observer: &pqtls.Observer{Metrics: m}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		res.Err = err
		return res
	}
	cs := c.(*tls.Conn).ConnectionState()
	res.Group, res.HRR = cs.CurveID, cs.HelloRetryRequest
	c.Close()
	return res
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func firstLine(s, substr string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	return ""
}

// Print writes the report for a person.
func Print(w io.Writer, r *Report) {
	fmt.Fprintf(w, "pqtls demo: hybrid post-quantum TLS side by side (in-process, 127.0.0.1 only, %s)\n\n", runtime.Version())

	fmt.Fprintln(w, "1. Negotiated key exchange (rows: client policy, columns: server policy)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := []string{"client \\ server"}
	for _, e := range endpoints {
		header = append(header, e.name)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	var rows []string
	cells := map[string][]string{}
	for _, p := range r.Pairs {
		if _, ok := cells[p.Client]; !ok {
			rows = append(rows, p.Client)
		}
		cells[p.Client] = append(cells[p.Client], cell(p))
	}
	for _, c := range rows {
		fmt.Fprintln(tw, c+"\t"+strings.Join(cells[c], "\t"))
	}
	tw.Flush()
	fmt.Fprintln(w, "   hybrid = post-quantum protected (harvest-now-decrypt-later safe); classical = not; HRR = one extra round trip")
	fmt.Fprintln(w, "   refused = no shared group under the policy: nothing was sent under classical keys")

	printBytes(w, r, rows)
	printCost(w, r.Cost)

	fmt.Fprintln(w, "\n4. Policy require at work")
	for _, p := range r.Pairs {
		var perr *pqtls.PolicyError
		if p.Err != nil && errors.As(p.Err, &perr) {
			fmt.Fprintf(w, "   client %q -> server %q refused by the client before key exchange:\n     %s\n", p.Client, p.Server, refusal(perr))
		}
	}
	if r.ServerLog != "" {
		fmt.Fprintf(w, "   the require server's log line for the classical client it refused:\n     %s\n", r.ServerLog)
	}

	fmt.Fprintln(w, "\n5. Inventory: 'pqtls scan' of the three servers (crafted ClientHellos, every group of the registry)")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "server\tverdict\tdefault client gets\tgroups supported (server preference order)\tconnections")
	for _, sr := range r.Scans {
		def := "-"
		if sr.DefaultClient != nil && sr.DefaultClient.Group != "" {
			def = sr.DefaultClient.Group
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", sr.Target.Service, sr.Verdict, def, strings.Join(sr.GroupNames(), " "), sr.Connections)
	}
	tw.Flush()

	fmt.Fprintln(w, "\n6. Hybrid canary: 'pqtls canary' runs the large-ClientHello matrix (split segments, record fragments, 4/16 KB, HRR)")
	for _, e := range endpoints {
		if v, ok := r.Canary[e.name]; ok {
			fmt.Fprintf(w, "   %-17s %-19s %s\n", e.name, v.Code, canaryLine(v, r.Cost))
		}
	}

	if t := r.Tunnel; t != nil {
		fmt.Fprintln(w, "\n7. A service that cannot change: 'pqtls tunnel' in server and client mode")
		fmt.Fprintf(w, "   %s\n   reply: %s\n", strings.Join(t.Path, " -> "), t.Reply)
		for _, l := range t.Metrics {
			fmt.Fprintln(w, "   "+l)
		}
	}

	fmt.Fprintln(w, "\n8. Metrics (what Prometheus scrapes from every pqtls server and client)")
	for _, l := range strings.Split(strings.TrimSpace(r.MetricsText), "\n") {
		if !strings.HasPrefix(l, "# HELP") {
			fmt.Fprintln(w, "   "+l)
		}
	}
	fmt.Fprintln(w, "\nNext: 'pqtls scan HOST:PORT' to inventory real endpoints, 'pqtls certs dev --out DIR' and 'pqtls tunnel' to wrap a service.")
}

// printBytes is section 2: the bytes of each client's handshake.
func printBytes(w io.Writer, r *Report, rows []string) {
	fmt.Fprintln(w, "\n2. Bytes on the wire per client, handshake with the prefer server (the MTU issue: a 1500-byte path carries 1448-1460 bytes of TCP payload per packet)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "client\tClientHello (client's first flight)\tTCP segments at MSS 1460\tserver's first flight\twhole handshake, both directions")
	for _, c := range rows {
		f, ok := r.Flights[c]
		if !ok || f.ClientHello == 0 {
			continue
		}
		segs := (f.ClientHello + 1459) / 1460
		note := ""
		if segs > 1 {
			note = "  <- spans packets: run 'pqtls canary' on real paths"
		}
		server, total := fmt.Sprintf("%d B", f.ServerFlight), fmt.Sprintf("%d B", f.Total)
		if f.Failed {
			server, total = fmt.Sprintf("%d B (refused: an alert)", f.ServerFlight), "-"
		}
		fmt.Fprintf(tw, "%s\t%d B\t%d%s\t%s\t%s\n", c, f.ClientHello, segs, note, server, total)
	}
	tw.Flush()

}

// printCost is section 3: the one hybrid-cost measurement.
func printCost(w io.Writer, c *Cost) {
	if c == nil {
		return
	}
	fmt.Fprintf(w, "\n3. Hybrid cost on this machine: %s client vs %s client, both against the prefer server;\n   %d handshakes each after %d warm-up, interleaved; handshake time without the TCP connect, p50 (interquartile range)\n",
		c.Hybrid.Client, c.Classical.Client, c.Handshakes, c.Warmup)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "   \tgroup\thandshake p50 (IQR)\tClientHello\tserver's first flight\twhole handshake, both directions")
	for _, cc := range []CaseCost{c.Hybrid, c.Classical} {
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%d B\t%d B\t%d B\n", cc.Client, pqtls.GroupName(cc.Group), cc.Latency, cc.Bytes.ClientHello, cc.Bytes.ServerFlight, cc.Bytes.Total)
	}
	fmt.Fprintf(tw, "   hybrid - classical\t\t%+.2f ms (%+.0f %%)\t%+d B\t%+d B\t%+d B\n", c.DeltaMs(), c.DeltaPct(),
		c.Hybrid.Bytes.ClientHello-c.Classical.Bytes.ClientHello, c.Hybrid.Bytes.ServerFlight-c.Classical.Bytes.ServerFlight, c.Hybrid.Bytes.Total-c.Classical.Bytes.Total)
	tw.Flush()
	fmt.Fprintln(w, "   Loopback has no network delay: on a real link add the time to carry the extra bytes; 'pqtls canary' checks that the path carries them.")
}

func cell(p Result) string {
	if p.Err != nil {
		var perr *pqtls.PolicyError
		if errors.As(p.Err, &perr) {
			return "refused by client"
		}
		if pqtls.ErrorReason(p.Err) == "alert_handshake_failure" {
			return "refused by server"
		}
		return "FAILED: " + pqtls.ErrorReason(p.Err)
	}
	s := fmt.Sprintf("%s %s", pqtls.GroupName(p.Group), pqtls.GroupKind(p.Group))
	if p.HRR {
		s += " HRR"
	}
	return s
}

// refusal says why a client policy refused a demo server, without the
// production hint to scan an address that is gone when the demo exits.
func refusal(e *pqtls.PolicyError) string {
	req := groupList(e.Required)
	if len(e.Offered) == 1 {
		return fmt.Sprintf("policy require accepts only %s; offered every group, the server selects %s", req, pqtls.GroupName(e.Offered[0]))
	}
	return fmt.Sprintf("policy require accepts only %s; the server accepts none of them", req)
}

func groupList(ids []tls.CurveID) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = pqtls.GroupName(id)
	}
	return strings.Join(names, ", ")
}

// canaryLine is the canary's verdict with the demo's one cost measurement
// in place of the canary's own few samples (a require server refuses the
// classical handshake the canary would compare with).
func canaryLine(v canary.Verdict, c *Cost) string {
	if v.Code != canary.VerdictOK {
		return v.Summary
	}
	s := "hybrid works on this path"
	if v.Cost != nil {
		s += " (" + v.Cost.HybridGroup + " negotiated)"
	}
	if c != nil {
		s += "; it costs " + c.String() + ", as measured in section 3"
		if v.Cost == nil {
			s += " (this server refuses the classical handshake the canary compares with, so the figure is the prefer server's)"
		}
	}
	return s
}
