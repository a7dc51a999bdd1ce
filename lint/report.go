package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/pqtls/pqtls/internal/report"
)

// JSONSchema versions the JSON output.
const JSONSchema = "pqtls.lint/v1"

// SARIF constants.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	toolName     = "pqtls-lint"
	toolURI      = "https://github.com/pqtls/pqtls/blob/main/docs/LINT.md"
)

// ANSI colours for the human format.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiGreen  = "\x1b[32m"
	ansiDim    = "\x1b[2m"
)

// WriteHuman writes findings grouped by file, each with its fix, then a
// summary by rule. color adds ANSI colours (callers enable it on a TTY only).
func WriteHuman(w io.Writer, r *Result, color bool) error {
	c := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	sevColor := map[Severity]string{SeverityError: ansiRed, SeverityWarning: ansiYellow, SeverityInfo: ansiCyan}
	ew := &errWriter{w: w}
	file := ""
	for _, f := range r.Findings {
		if f.File != file {
			if file != "" {
				ew.printf("\n")
			}
			file = f.File
			ew.printf("%s\n", c(ansiBold, report.TermSafe(file)))
		}
		// File names, messages, snippets and fixes carry text from the
		// files: escaped, so a name or a line cannot drive the terminal.
		ew.printf("  %d:%d  %s  %s  %s\n", f.Start.Line, f.Start.Column, c(sevColor[f.Severity], fmt.Sprintf("%-7s", f.Severity)), c(ansiBold, f.Rule), report.TermSafe(f.Message))
		if s := strings.TrimSpace(f.Snippet); s != "" {
			ew.printf("      %s %s\n", c(ansiDim, "|"), report.TermSafe(s))
		}
		if f.Fix != nil {
			ew.printf("      %s %s:\n", c(ansiGreen, "fix"), report.TermSafe(f.Fix.Description))
			for _, l := range strings.Split(f.Fixed, "\n") {
				ew.printf("      %s %s\n", c(ansiGreen, "+"), report.TermSafe(strings.TrimSpace(l)))
			}
		}
	}
	if len(r.Findings) > 0 {
		ew.printf("\n")
	}
	counts := r.Counts()
	ids := make([]string, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) > 0 {
		ew.printf("%s\n", c(ansiBold, "Findings by rule:"))
		for _, id := range ids {
			rl := ruleByID[id]
			ew.printf("  %s  %-38s %-7s %d\n", id, rl.Name, rl.Severity, counts[id])
		}
	}
	ew.printf("%d finding(s) in %d file(s) checked", len(r.Findings), r.Files)
	if r.SuppressedInline+r.SuppressedBaseline > 0 {
		ew.printf("; %d suppressed inline, %d by baseline", r.SuppressedInline, r.SuppressedBaseline)
	}
	ew.printf(".\n")
	if len(ids) > 0 {
		ew.printf("Run 'pqtls lint --explain RULE' for the rationale and references of a rule.\n")
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

// JSON output types (schema pqtls.lint/v1).
type (
	jsonReport struct {
		Schema     string        `json:"schema"`
		Tool       jsonTool      `json:"tool"`
		Findings   []jsonFinding `json:"findings"`
		Summary    jsonSummary   `json:"summary"`
		Suppressed jsonSupp      `json:"suppressed"`
	}
	jsonTool struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	jsonFinding struct {
		Rule        string   `json:"rule"`
		Name        string   `json:"name"`
		Severity    string   `json:"severity"`
		File        string   `json:"file"`
		Line        int      `json:"line"`
		Column      int      `json:"column"`
		EndLine     int      `json:"end_line"`
		EndColumn   int      `json:"end_column"`
		Message     string   `json:"message"`
		Snippet     string   `json:"snippet"`
		Fingerprint string   `json:"fingerprint"`
		Fix         *jsonFix `json:"fix"`
	}
	jsonFix struct {
		Description string `json:"description"`
		StartLine   int    `json:"start_line"`
		StartColumn int    `json:"start_column"`
		EndLine     int    `json:"end_line"`
		EndColumn   int    `json:"end_column"`
		StartOffset int    `json:"start_offset"`
		EndOffset   int    `json:"end_offset"`
		Replacement string `json:"replacement"`
		Fixed       string `json:"fixed"`
		Upgrade     bool   `json:"upgrade"`
	}
	jsonSummary struct {
		Files      int            `json:"files"`
		Total      int            `json:"total"`
		ByRule     map[string]int `json:"by_rule"`
		BySeverity map[string]int `json:"by_severity"`
	}
	jsonSupp struct {
		Inline   int `json:"inline"`
		Baseline int `json:"baseline"`
	}
)

// WriteJSON writes the stable JSON report (schema "pqtls.lint/v1").
func WriteJSON(w io.Writer, r *Result, version string) error {
	out := jsonReport{
		Schema:     JSONSchema,
		Tool:       jsonTool{Name: toolName, Version: version},
		Findings:   []jsonFinding{},
		Summary:    jsonSummary{Files: r.Files, Total: len(r.Findings), ByRule: r.Counts(), BySeverity: map[string]int{}},
		Suppressed: jsonSupp{Inline: r.SuppressedInline, Baseline: r.SuppressedBaseline},
	}
	for _, f := range r.Findings {
		jf := jsonFinding{Rule: f.Rule, Name: ruleByID[f.Rule].Name, Severity: f.Severity.String(), File: f.File,
			Line: f.Start.Line, Column: f.Start.Column, EndLine: f.End.Line, EndColumn: f.End.Column,
			Message: f.Message, Snippet: f.Snippet, Fingerprint: f.Fingerprint()}
		if f.Fix != nil {
			jf.Fix = &jsonFix{Description: f.Fix.Description, StartLine: f.Fix.Start.Line, StartColumn: f.Fix.Start.Column,
				EndLine: f.Fix.End.Line, EndColumn: f.Fix.End.Column, StartOffset: f.Fix.Start.Offset, EndOffset: f.Fix.End.Offset,
				Replacement: f.Fix.NewText, Fixed: f.Fixed, Upgrade: f.Fix.Upgrade}
		}
		out.Findings = append(out.Findings, jf)
		out.Summary.BySeverity[f.Severity.String()]++
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// SARIF 2.1.0 types: only the properties pqtls emits.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool       sarifTool     `json:"tool"`
		Results    []sarifResult `json:"results"`
		ColumnKind string        `json:"columnKind"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string         `json:"id"`
		Name                 string         `json:"name"`
		ShortDescription     sarifText      `json:"shortDescription"`
		FullDescription      sarifText      `json:"fullDescription"`
		Help                 sarifHelp      `json:"help"`
		HelpURI              string         `json:"helpUri"`
		DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
		Properties           map[string]any `json:"properties"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifHelp struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown"`
	}
	sarifConfig struct {
		Level string `json:"level"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             sarifText         `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Fixes               []sarifFix        `json:"fixes,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
		Region           sarifRegion      `json:"region"`
	}
	sarifArtifactLoc struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId,omitempty"`
	}
	sarifRegion struct {
		StartLine   int        `json:"startLine"`
		StartColumn int        `json:"startColumn"`
		EndLine     int        `json:"endLine"`
		EndColumn   int        `json:"endColumn"`
		Snippet     *sarifText `json:"snippet,omitempty"`
	}
	sarifFix struct {
		Description     sarifText             `json:"description"`
		ArtifactChanges []sarifArtifactChange `json:"artifactChanges"`
	}
	sarifArtifactChange struct {
		ArtifactLocation sarifArtifactLoc   `json:"artifactLocation"`
		Replacements     []sarifReplacement `json:"replacements"`
	}
	sarifReplacement struct {
		DeletedRegion   sarifRegion `json:"deletedRegion"`
		InsertedContent sarifText   `json:"insertedContent"`
	}
)

func sarifLevel(s Severity) string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes a SARIF 2.1.0 log that code-scanning services accept:
// one run, every rule described in the driver, relative URIs against
// %SRCROOT%, partial fingerprints, and fixes as artifact changes. Columns are
// counted in Unicode code points.
func WriteSARIF(w io.Writer, r *Result, version string) error {
	run := sarifRun{
		Tool:       sarifTool{Driver: sarifDriver{Name: toolName, Version: version, InformationURI: toolURI}},
		Results:    []sarifResult{},
		ColumnKind: "unicodeCodePoints",
	}
	index := map[string]int{}
	for i, rl := range rules {
		index[rl.ID] = i
		md := fmt.Sprintf("**%s %s**\n\n%s\n\nFlagged:\n\n```\n%s\n```\n\nInstead:\n\n```\n%s\n```\n\nSuppress with a comment `pqtls-lint:ignore %s <reason>` on the line or the line above.", rl.ID, rl.Name, rl.Rationale, rl.Bad, rl.Good, rl.ID)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: rl.ID, Name: rl.Name,
			ShortDescription:     sarifText{Text: rl.Summary},
			FullDescription:      sarifText{Text: rl.Rationale},
			Help:                 sarifHelp{Text: Explain(rl), Markdown: md},
			HelpURI:              toolURI + "#" + strings.ToLower(rl.ID) + "-" + rl.Name,
			DefaultConfiguration: sarifConfig{Level: sarifLevel(rl.Severity)},
			Properties:           map[string]any{"tags": []string{"security", "post-quantum", "tls"}, "format": rl.Format},
		})
	}
	for _, f := range r.Findings {
		uri, base := sarifURI(f.File)
		res := sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity),
			Message: sarifText{Text: f.Message},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifactLoc{URI: uri, URIBaseID: base},
				Region:           sarifRegionOf(f.Start, f.End, f.Snippet, true),
			}}},
			PartialFingerprints: map[string]string{"pqtlsLineHash/v1": f.Fingerprint()},
		}
		if f.Fix != nil {
			res.Fixes = []sarifFix{{
				Description: sarifText{Text: f.Fix.Description},
				ArtifactChanges: []sarifArtifactChange{{
					ArtifactLocation: sarifArtifactLoc{URI: uri, URIBaseID: base},
					Replacements: []sarifReplacement{{
						DeletedRegion:   sarifRegionOf(f.Fix.Start, f.Fix.End, f.Snippet, false),
						InsertedContent: sarifText{Text: f.Fix.NewText},
					}},
				}},
			}}
		}
		run.Results = append(run.Results, res)
	}
	log := sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// sarifURI turns a reported file name into a URI reference: relative paths
// against %SRCROOT%, absolute ones as file URIs.
func sarifURI(file string) (uri, base string) {
	esc := strings.NewReplacer("%", "%25", " ", "%20", "#", "%23", "?", "%3F")
	if strings.HasPrefix(file, "/") {
		return "file://" + esc.Replace(file), ""
	}
	return esc.Replace(file), "%SRCROOT%"
}

// sarifRegionOf converts byte columns to code-point columns (exact on the
// start line, whose text we keep; other lines are ASCII in practice).
func sarifRegionOf(start, end Pos, snippet string, withSnippet bool) sarifRegion {
	col := func(p Pos) int {
		if p.Line == start.Line && p.Column-1 <= len(snippet) {
			return utf8.RuneCountInString(snippet[:p.Column-1]) + 1
		}
		return p.Column
	}
	reg := sarifRegion{StartLine: start.Line, StartColumn: col(start), EndLine: end.Line, EndColumn: col(end)}
	if withSnippet && snippet != "" {
		reg.Snippet = &sarifText{Text: snippet}
	}
	return reg
}
