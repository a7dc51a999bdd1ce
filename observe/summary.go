package observe

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"text/tabwriter"
)

// Row is one line of the summary table: the flows of one server (or one
// client), counted by outcome.
type Row struct {
	Key      string
	SNI      string // most frequent SNI
	Flows    int
	Outcomes map[string]int
	HRR      int
	// AuthCaps counts flows by the client's authentication capability
	// (AuthCapMLDSA, AuthCapClassical, AuthCapTLS12Only).
	AuthCaps map[string]int
	sni      map[string]int
}

// Completed is the number of flows whose key exchange was seen to complete
// (every outcome but failed and incomplete).
func (r *Row) Completed() int {
	return r.Flows - r.Outcomes[OutcomeFailed] - r.Outcomes[OutcomeIncomplete]
}

// PQShare is the share of completed flows that used a hybrid or pure ML-KEM
// group, in percent; -1 when no flow completed.
func (r *Row) PQShare() float64 {
	c := r.Completed()
	if c == 0 {
		return -1
	}
	return 100 * float64(r.Outcomes[OutcomeHybrid]+r.Outcomes[OutcomePQ]) / float64(c)
}

// Summary aggregates flows by server address (or by client IP address).
type Summary struct {
	ByClient bool
	rows     map[string]*Row
	total    Row
}

// NewSummary returns an empty summary keyed by server, or by client IP when
// byClient is set.
func NewSummary(byClient bool) *Summary {
	return &Summary{ByClient: byClient, rows: map[string]*Row{}, total: Row{Key: "TOTAL", Outcomes: map[string]int{}, AuthCaps: map[string]int{}}}
}

// Add counts one flow.
func (s *Summary) Add(f *Flow) {
	key := f.Server
	if s.ByClient {
		if ap, err := netip.ParseAddrPort(f.Client); err == nil {
			key = ap.Addr().String()
		} else {
			key = f.Client
		}
	}
	if key == "" {
		key = "-" // a log line without the address
	}
	r := s.rows[key]
	if r == nil && len(s.rows) >= maxRows {
		key = OtherRow // bounded on an endless stream of distinct addresses
		r = s.rows[key]
	}
	if r == nil {
		r = &Row{Key: key, Outcomes: map[string]int{}, AuthCaps: map[string]int{}, sni: map[string]int{}}
		s.rows[key] = r
	}
	for _, row := range []*Row{r, &s.total} {
		row.Flows++
		row.Outcomes[f.Outcome]++
		if f.HRR {
			row.HRR++
		}
		if f.AuthCapability != "" {
			row.AuthCaps[f.AuthCapability]++
		}
	}
	if f.SNI != "" {
		// Bounded: a server behind which a CDN hosts millions of names must
		// not grow the table without end. Names first seen after the cap
		// are not counted (the row's most frequent name is then among the
		// first maxSNIsPerRow seen).
		if _, ok := r.sni[f.SNI]; ok || len(r.sni) < maxSNIsPerRow {
			r.sni[f.SNI]++
		}
	}
}

// maxRows bounds the rows of the table; flows of addresses first seen
// after it are counted in the OtherRow row.
const maxRows = 10000

// OtherRow is the key of the row that counts the flows of addresses beyond
// the first 10,000.
const OtherRow = "(other)"

// maxSNIsPerRow bounds the distinct server names counted per row.
const maxSNIsPerRow = 256

// Rows returns the rows, worst first: lowest PQ share, then most flows.
func (s *Summary) Rows() []*Row {
	out := make([]*Row, 0, len(s.rows))
	for _, r := range s.rows {
		best, n := "", 0
		for k, c := range r.sni {
			if c > n || (c == n && k < best) {
				best, n = k, c
			}
		}
		r.SNI = best
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].PQShare(), out[j].PQShare()
		if a != b {
			return a < b
		}
		if out[i].Flows != out[j].Flows {
			return out[i].Flows > out[j].Flows
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// Total returns the row summing every flow.
func (s *Summary) Total() *Row { return &s.total }

// WriteTable writes the summary as an aligned text table.
func (s *Summary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "SERVER\tSNI"
	if s.ByClient {
		head = "CLIENT\tSNI"
	}
	fmt.Fprintf(tw, "%s\tFLOWS\tHYBRID\tPQ\tCLASSICAL\tTLS1.2\tOTHER\tFAILED\tINCOMPLETE\tHRR\tMLDSA-CAP\tTLS1.2-ONLY\tPQ%%\n", head)
	line := func(r *Row) {
		share := "-"
		if p := r.PQShare(); p >= 0 {
			share = fmt.Sprintf("%.1f", p)
		}
		sni := r.SNI
		if sni == "" {
			sni = "-"
		}
		other := r.Outcomes[OutcomeDraft] + r.Outcomes[OutcomeUnknownGroup]
		// Client capabilities are known only from a captured ClientHello
		// (never from a log line): "-" when no flow of the row had one.
		mldsa, tls12 := "-", "-"
		if len(r.AuthCaps) > 0 {
			mldsa, tls12 = fmt.Sprint(r.AuthCaps[AuthCapMLDSA]), fmt.Sprint(r.AuthCaps[AuthCapTLS12Only])
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", r.Key, sni, r.Flows,
			r.Outcomes[OutcomeHybrid], r.Outcomes[OutcomePQ], r.Outcomes[OutcomeClassical], r.Outcomes[OutcomeTLS12],
			other, r.Outcomes[OutcomeFailed], r.Outcomes[OutcomeIncomplete], r.HRR, mldsa, tls12, share)
	}
	for _, r := range s.Rows() {
		line(r)
	}
	if len(s.rows) > 1 {
		line(&s.total)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.rows) == 0 {
		_, err := io.WriteString(w, "no TLS handshake in the input (check the interface, --filter, or for a log --log-format)\n")
		return err
	}
	return nil
}
