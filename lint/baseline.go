package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pqtls/pqtls/internal/outfile"
)

// BaselineSchema versions the baseline file format.
const BaselineSchema = "pqtls.lint.baseline/v1"

// Baseline records accepted findings so a large repository can adopt the
// linter and fix over time. Entries match by fingerprint (rule, file and the
// trimmed text of the offending line), so moving code up or down does not
// break the match; editing the line does, on purpose.
//
// A baseline written with NewBaselineFile and read with ReadBaseline names
// files relative to the baseline file's own directory, so it matches
// whatever directory pqtls lint runs from (the repository root in CI, a
// subdirectory on a laptop).
type Baseline struct {
	Schema   string          `json:"schema"`
	Findings []BaselineEntry `json:"findings"`

	// dir is the absolute directory of the baseline file (ReadBaseline),
	// which entry file names are relative to; empty: relative to the
	// directory findings are reported against.
	dir string
}

// BaselineEntry is one accepted finding. Line and Message are informative.
type BaselineEntry struct {
	Rule        string `json:"rule"`
	File        string `json:"file"`
	Fingerprint string `json:"fingerprint"`
	Line        int    `json:"line"`
	Message     string `json:"message"`
}

// NewBaseline records the given findings.
func NewBaseline(fs []Finding) *Baseline {
	b := &Baseline{Schema: BaselineSchema, Findings: []BaselineEntry{}}
	for _, f := range fs {
		b.Findings = append(b.Findings, BaselineEntry{Rule: f.Rule, File: f.File, Fingerprint: f.Fingerprint(), Line: f.Start.Line, Message: f.Message})
	}
	return b
}

// NewBaselineFile records the findings of res for a baseline file at path:
// file names (and fingerprints) relative to path's directory.
func NewBaselineFile(res *Result, path string) (*Baseline, error) {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("cannot resolve %s: %w", path, err)
	}
	b := &Baseline{Schema: BaselineSchema, Findings: []BaselineEntry{}}
	for _, f := range res.Findings {
		name := rebase(f.File, res.BaseDir, dir)
		b.Findings = append(b.Findings, BaselineEntry{Rule: f.Rule, File: name, Fingerprint: f.fingerprintAs(name), Line: f.Start.Line, Message: f.Message})
	}
	return b, nil
}

// rebase turns file, reported relative to from (or absolute), into a name
// relative to to (absolute when it is not below to).
func rebase(file, from, to string) string {
	abs := filepath.FromSlash(file)
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(from, abs)
	}
	return reportName(to, abs)
}

// ReadBaseline loads a baseline written by WriteFile.
func ReadBaseline(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read baseline: %w (create one with --write-baseline %s)", err, path)
	}
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("baseline %s is not valid JSON: %w (regenerate it with --write-baseline)", path, err)
	}
	if b.Schema != BaselineSchema {
		return nil, fmt.Errorf("baseline %s has schema %q, want %q: regenerate it with --write-baseline", path, b.Schema, BaselineSchema)
	}
	for _, e := range b.Findings {
		if _, ok := ruleByID[e.Rule]; !ok {
			return nil, fmt.Errorf("baseline %s: %w (regenerate it with --write-baseline)", path, &RuleError{Rule: e.Rule})
		}
	}
	if b.dir, err = filepath.Abs(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("cannot resolve %s: %w", path, err)
	}
	return &b, nil
}

// WriteFile writes the baseline through the project's output-file helper
// (atomic replace keeping mode and owner; a directory or an unwritable
// path is an error).
func (b *Baseline) WriteFile(path string) error {
	return outfile.WriteFile(path, nil, b.Write)
}

// Write writes the baseline as indented JSON.
func (b *Baseline) Write(w io.Writer) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// Filter drops the findings the baseline records. Each entry hides at most
// one finding, so a second copy of an accepted line is still reported.
func (b *Baseline) Filter(fs []Finding) ([]Finding, int) { return b.filterIn(fs, "") }

// filterIn is Filter for findings reported relative to base: with a
// baseline read from a file, each finding's file is renamed relative to the
// baseline's directory before its fingerprint is compared.
func (b *Baseline) filterIn(fs []Finding, base string) ([]Finding, int) {
	left := map[string]int{}
	for _, e := range b.Findings {
		left[e.Fingerprint]++
	}
	var out []Finding
	n := 0
	for _, f := range fs {
		fp := f.Fingerprint()
		if b.dir != "" && base != "" {
			fp = f.fingerprintAs(rebase(f.File, base, b.dir))
		}
		if left[fp] > 0 {
			left[fp]--
			n++
			continue
		}
		out = append(out, f)
	}
	return out, n
}
