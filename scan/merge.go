package scan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ReadReport reads a pqtls.scan/v1 JSON report ("-" reads stdin).
func ReadReport(path string, stdin io.Reader) (*Report, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	return DecodeReport(r, path)
}

// DecodeReport decodes a pqtls.scan/v1 JSON report; name labels errors.
func DecodeReport(r io.Reader, name string) (*Report, error) {
	var rep Report
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file: give a report written by pqtls scan --format json", name)
		}
		return nil, fmt.Errorf("%s: not a JSON scan report (%v): give a report written by pqtls scan --format json", name, err)
	}
	if rep.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q: give a report written by pqtls scan --format json", name, rep.Schema, Schema)
	}
	if rep.Endpoints == nil {
		rep.Endpoints = []Result{}
	}
	return &rep, nil
}

// EndpointKey identifies an endpoint across reports: its address, STARTTLS
// protocol and SNI.
type EndpointKey struct {
	Address    string `json:"address"`
	StartTLS   string `json:"starttls"`
	ServerName string `json:"server_name,omitempty"`
}

// Key returns the EndpointKey of r.
func (r *Result) Key() EndpointKey {
	return EndpointKey{Address: r.Address, StartTLS: string(r.StartTLS), ServerName: r.Target.ServerName}
}

// Merge combines reports (the shards of one fleet, or scans of different
// days) into one pqtls.scan/v1 report. Endpoints are keyed by
// [Result.Key]; of duplicates the one with the newest scanned_at wins, on
// a tie the one from the report with the later generated_at, then the one
// given last. Each endpoint's Source is the name of its report. Endpoints
// keep the order of their first appearance; the summary is recomputed,
// generated_at is the newest of the inputs and duration_ms the longest
// (shards run side by side). names[i] names reps[i].
func Merge(reps []*Report, names []string, toolVersion string) *Report {
	type pick struct {
		res Result
		gen time.Time
	}
	var order []EndpointKey
	best := map[EndpointKey]pick{}
	out := &Report{Schema: Schema, Tool: ToolInfo{Name: "pqtls", Version: toolVersion}, Endpoints: []Result{}}
	var longest float64
	for i, rep := range reps {
		if i == 0 {
			out.Options = rep.Options
		}
		if rep.GeneratedAt.After(out.GeneratedAt) {
			out.GeneratedAt = rep.GeneratedAt
		}
		longest = max(longest, rep.Summary.DurationMS)
		for _, res := range rep.Endpoints {
			res.Source = names[i]
			k := res.Key()
			old, seen := best[k]
			if !seen {
				order = append(order, k)
			}
			if !seen || !res.ScannedAt.Before(old.res.ScannedAt) && (res.ScannedAt.After(old.res.ScannedAt) || !rep.GeneratedAt.Before(old.gen)) {
				best[k] = pick{res, rep.GeneratedAt}
			}
		}
	}
	for _, k := range order {
		out.Endpoints = append(out.Endpoints, best[k].res)
	}
	out.Summary = summarize(out.Endpoints, longest)
	return out
}
