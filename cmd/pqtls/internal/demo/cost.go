package demo

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/pqtls/pqtls/internal/latency"
)

// Cost measurement defaults: every figure the demo gives about what hybrid
// costs comes from one measurement of this size.
const (
	// MinHandshakes is the fewest measured handshakes per case.
	MinHandshakes = 200
	// Warmup handshakes per case run first and are not measured.
	Warmup = 20
)

// Dist is a latency distribution in milliseconds: the median and its
// interquartile range.
type Dist struct {
	P25, P50, P75 float64
	Samples       int
}

func dist(ds []time.Duration) Dist {
	s := slices.Clone(ds)
	slices.Sort(s)
	return Dist{P25: latency.MS(latency.Percentile(s, 25)), P50: latency.MS(latency.Percentile(s, 50)),
		P75: latency.MS(latency.Percentile(s, 75)), Samples: len(s)}
}

// String reads "0.83 ms (IQR 0.75-0.95)".
func (d Dist) String() string {
	return fmt.Sprintf("%.2f ms (IQR %.2f-%.2f)", d.P50, d.P25, d.P75)
}

// Flights is what one handshake put on the wire.
type Flights struct {
	// ClientHello is the client's first flight (the ClientHello record).
	ClientHello int
	// ServerFlight is what the server sent before the client's second
	// flight: ServerHello, ChangeCipherSpec, the encrypted extensions,
	// certificate, CertificateVerify and Finished (and the session tickets
	// a Go server sends with them).
	ServerFlight int
	// Total is every TLS byte of the handshake, both directions.
	Total int
	// Failed: the handshake did not complete (ServerFlight is then the
	// alert the server answered with).
	Failed bool
}

// CaseCost is one side of the comparison.
type CaseCost struct {
	// Client names the client policy; Group is what it negotiated.
	Client string
	Group  tls.CurveID
	// Latency is the handshake time (TCP connect excluded).
	Latency Dist
	Bytes   Flights
}

// Cost is the demo's one hybrid-cost measurement: the prefer client and the
// classical-only client against the prefer server, Handshakes times each
// after Warmup unmeasured ones, interleaved so that both see the same
// machine.
type Cost struct {
	Handshakes, Warmup int
	Hybrid, Classical  CaseCost
}

// DeltaMs is the hybrid p50 minus the classical p50.
func (c *Cost) DeltaMs() float64 { return c.Hybrid.Latency.P50 - c.Classical.Latency.P50 }

// DeltaPct is DeltaMs relative to the classical p50.
func (c *Cost) DeltaPct() float64 {
	if c.Classical.Latency.P50 == 0 {
		return 0
	}
	return 100 * c.DeltaMs() / c.Classical.Latency.P50
}

// String is the one-line cost every section quotes.
func (c *Cost) String() string {
	return fmt.Sprintf("%+.2f ms p50 (%+.0f %%) and %+d bytes per handshake (hybrid %s vs classical %s; %d handshakes each)",
		c.DeltaMs(), c.DeltaPct(), c.Hybrid.Bytes.Total-c.Classical.Bytes.Total, c.Hybrid.Latency, c.Classical.Latency, c.Handshakes)
}

type costCase struct {
	name string
	cfg  *tls.Config
}

// measureCost runs the comparison against addr.
func measureCost(ctx context.Context, addr string, n int, hybrid, classical costCase) (*Cost, error) {
	cases := []costCase{hybrid, classical}
	durs := make([][]time.Duration, 2)
	flights := make([][]Flights, 2)
	var last [2]handshakeResult
	for i := 0; i < Warmup+n; i++ {
		for k := range cases {
			k := (k + i) % 2 // alternate which case goes first
			res, err := oneHandshake(ctx, addr, cases[k].cfg)
			if err != nil {
				return nil, fmt.Errorf("cost measurement, %s client: %w", cases[k].name, err)
			}
			if i >= Warmup {
				durs[k] = append(durs[k], res.took)
				flights[k] = append(flights[k], res.flights)
			}
			last[k] = res
		}
	}
	side := func(k int) CaseCost {
		return CaseCost{Client: cases[k].name, Group: last[k].group, Latency: dist(durs[k]), Bytes: medianFlights(flights[k])}
	}
	return &Cost{Handshakes: n, Warmup: Warmup, Hybrid: side(0), Classical: side(1)}, nil
}

type handshakeResult struct {
	took    time.Duration
	group   tls.CurveID
	hrr     bool
	flights Flights
}

// oneHandshake connects and times the TLS handshake alone.
func oneHandshake(ctx context.Context, addr string, cfg *tls.Config) (handshakeResult, error) {
	var res handshakeResult
	raw, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return res, err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	fc := &flightConn{Conn: raw}
	c := tls.Client(fc, cfg)
	start := time.Now()
	err = c.HandshakeContext(ctx)
	res.took = time.Since(start)
	res.flights = fc.flights()
	if err != nil {
		return res, err
	}
	cs := c.ConnectionState()
	res.group, res.hrr = cs.CurveID, cs.HelloRetryRequest
	return res, nil
}

// flightConn records the client's first write and what was read before
// the second one.
type flightConn struct {
	net.Conn
	mu                     sync.Mutex
	writes, sent, received int
	first, beforeSecond    int
}

func (c *flightConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	switch c.writes {
	case 1:
		c.first = len(p)
	case 2:
		c.beforeSecond = c.received
	}
	c.sent += len(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *flightConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.received += n
	c.mu.Unlock()
	return n, err
}

func (c *flightConn) flights() Flights {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := Flights{ClientHello: c.first, ServerFlight: c.beforeSecond, Total: c.sent + c.received}
	if c.writes < 2 {
		f.ServerFlight = c.received // refused: the alert is all the server sent
	}
	return f
}

// medianFlights is the per-field median (an ECDSA signature varies by a
// byte or two between handshakes).
func medianFlights(fs []Flights) Flights {
	med := func(get func(Flights) int) int {
		xs := make([]int, len(fs))
		for i, f := range fs {
			xs[i] = get(f)
		}
		slices.Sort(xs)
		return xs[(len(xs)-1)/2]
	}
	return Flights{ClientHello: med(func(f Flights) int { return f.ClientHello }), ServerFlight: med(func(f Flights) int { return f.ServerFlight }),
		Total: med(func(f Flights) int { return f.Total })}
}
