package lint

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pqtls/pqtls/internal/outfile"
)

// FileFix is what --fix does to one file: the findings whose fixes are
// applied, those refused, and the content before and after.
type FileFix struct {
	// File is the name as reported; Path the file on disk.
	File, Path string
	// Applied are the findings whose fixes make After from Before.
	Applied []Finding
	// Overlapping are findings whose fixes touch the same bytes as another
	// fix: none of them is applied (the result would depend on an order).
	Overlapping []Finding
	// Upgrades are findings whose fix changes a version (toolchain, image,
	// library): reported, never applied, since they need a human and a
	// rebuild.
	Upgrades []Finding
	// Before and After are the file's content.
	Before, After []byte
}

// Changed reports whether the fix changes the file.
func (ff *FileFix) Changed() bool { return !bytes.Equal(ff.Before, ff.After) }

// PlanFixes reads every file with a fixable finding in res and computes
// its fixed content. Findings hidden by ignore comments or the baseline are
// not in res, so they are never fixed. The files are not written.
func PlanFixes(res *Result) ([]*FileFix, error) {
	byFile := map[string][]Finding{}
	var names []string
	for _, f := range res.Findings {
		if f.Fix == nil {
			continue
		}
		if _, ok := byFile[f.File]; !ok {
			names = append(names, f.File)
		}
		byFile[f.File] = append(byFile[f.File], f)
	}
	sort.Strings(names)
	var out []*FileFix
	for _, name := range names {
		p := filepath.FromSlash(name)
		if !filepath.IsAbs(p) {
			p = filepath.Join(res.BaseDir, p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s to fix it: %w", name, err)
		}
		ff := &FileFix{File: name, Path: p, Before: data}
		var apply []Finding
		for _, f := range byFile[name] {
			if f.Fix.Upgrade {
				ff.Upgrades = append(ff.Upgrades, f)
			} else {
				apply = append(apply, f)
			}
		}
		ff.Applied, ff.Overlapping = splitOverlaps(apply, len(data))
		ff.After = ApplyFixes(data, ff.Applied)
		out = append(out, ff)
	}
	return out, nil
}

// splitOverlaps separates fixes that share bytes with another fix (two
// insertions at one offset count) from the others. Identical edits made by
// two findings are one edit.
func splitOverlaps(fs []Finding, size int) (ok, overlapping []Finding) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Fix.Start.Offset < fs[j].Fix.Start.Offset })
	bad := make([]bool, len(fs))
	for i := range fs {
		a := fs[i].Fix
		if a.Start.Offset < 0 || a.End.Offset > size || a.Start.Offset > a.End.Offset {
			bad[i] = true
			continue
		}
		for j := i + 1; j < len(fs); j++ {
			b := fs[j].Fix
			if b.Start.Offset > a.End.Offset || (b.Start.Offset == a.End.Offset && a.Start.Offset != a.End.Offset) {
				break
			}
			if a.Start == b.Start && a.End == b.End && a.NewText == b.NewText {
				continue
			}
			bad[i], bad[j] = true, true
		}
	}
	seen := map[[2]int]string{}
	for i, f := range fs {
		if bad[i] {
			overlapping = append(overlapping, f)
			continue
		}
		key := [2]int{f.Fix.Start.Offset, f.Fix.End.Offset}
		if t, dup := seen[key]; dup && t == f.Fix.NewText {
			continue
		}
		seen[key] = f.Fix.NewText
		ok = append(ok, f)
	}
	return ok, overlapping
}

// Write replaces the file with After through the output-file helper
// (atomic, keeping mode and owner).
func (ff *FileFix) Write() error {
	return outfile.WriteFile(ff.Path, nil, func(w io.Writer) error {
		_, err := w.Write(ff.After)
		return err
	})
}

// UnifiedDiff returns the change as a unified diff (3 lines of context),
// with a/ and b/ prefixes like git.
func (ff *FileFix) UnifiedDiff() string {
	if !ff.Changed() {
		return ""
	}
	a, b := "a/"+ff.File, "b/"+ff.File
	if filepath.IsAbs(filepath.FromSlash(ff.File)) {
		a, b = ff.File, ff.File
	}
	return unifiedDiff(a, b, splitLines(ff.Before), splitLines(ff.After))
}

// splitLines splits after each newline, keeping it.
func splitLines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i+1]))
		b = b[i+1:]
	}
	return out
}

// diffOp is one line of a diff: ' ' kept, '-' deleted, '+' inserted.
type diffOp struct {
	kind byte
	text string
}

// diffLines aligns two line lists: common prefix and suffix, and an LCS by
// dynamic programming over the region between them (which a fix keeps
// small; a huge region is shown as deleted then inserted).
func diffLines(a, b []string) []diffOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	var ops []diffOp
	for _, l := range a[:pre] {
		ops = append(ops, diffOp{' ', l})
	}
	if len(ma)*len(mb) > 4<<20 {
		for _, l := range ma {
			ops = append(ops, diffOp{'-', l})
		}
		for _, l := range mb {
			ops = append(ops, diffOp{'+', l})
		}
	} else {
		lcs := make([][]int32, len(ma)+1)
		for i := range lcs {
			lcs[i] = make([]int32, len(mb)+1)
		}
		for i := len(ma) - 1; i >= 0; i-- {
			for j := len(mb) - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(ma) || j < len(mb) {
			switch {
			case i < len(ma) && j < len(mb) && ma[i] == mb[j]:
				ops = append(ops, diffOp{' ', ma[i]})
				i, j = i+1, j+1
			case i < len(ma) && (j == len(mb) || lcs[i+1][j] >= lcs[i][j+1]):
				ops = append(ops, diffOp{'-', ma[i]})
				i++
			default:
				ops = append(ops, diffOp{'+', mb[j]})
				j++
			}
		}
	}
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, diffOp{' ', l})
	}
	return ops
}

// unifiedDiff diffs two line lists as a unified diff with 3 lines of
// context.
//
// long: the LCS table, the walk back and the hunk assembly share six
// slices; split, each piece would need all of them.
func unifiedDiff(nameA, nameB string, a, b []string) string {
	const ctx = 3
	ops := diffLines(a, b)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		// A hunk: from ctx lines before the change to ctx lines after the
		// last change that is no more than 2*ctx lines from the next.
		start, end := max(0, k-ctx), k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(len(ops), end+ctx)
				break
			}
			end = run
		}
		oa, ob := countLines(ops[:start])
		na, nb := countLines(ops[start:end])
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(oa, na), hunkRange(ob, nb))
		for _, o := range ops[start:end] {
			out.WriteByte(o.kind)
			out.WriteString(o.text)
			if !strings.HasSuffix(o.text, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		k = end
	}
	return out.String()
}

// countLines counts the old and new lines of a run of operations.
func countLines(ops []diffOp) (old, new int) {
	for _, o := range ops {
		if o.kind != '+' {
			old++
		}
		if o.kind != '-' {
			new++
		}
	}
	return old, new
}

// hunkRange formats a unified-diff range: start line (1-based; the line
// before for an empty range) and count.
func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}
