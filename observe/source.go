package observe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/bpf"
)

// Filter is a compiled BPF program run on each packet before analysis.
type Filter struct {
	expr string
	raw  []bpf.RawInstruction
	vm   *bpf.VM
}

// String returns the filter expression.
func (f *Filter) String() string { return f.expr }

// Match reports whether the packet passes the filter.
func (f *Filter) Match(pkt []byte) bool {
	if f == nil {
		return true
	}
	n, err := f.vm.Run(pkt)
	return err == nil && n > 0
}

// linkTypeNames maps link types to the DLT names tcpdump -y accepts.
var linkTypeNames = map[int]string{
	LinkNull: "NULL", LinkEthernet: "EN10MB", LinkRaw: "RAW", LinkLoop: "LOOP",
	LinkSLL: "LINUX_SLL", LinkSLL2: "LINUX_SLL2", LinkIPv4: "IPV4", LinkIPv6: "IPV6",
	linkRawAlt1: "RAW", linkRawAlt2: "RAW",
}

// CompileFilter compiles a tcpdump/pcap-filter(7) expression for packets of
// the given link type. pqtls has no BPF compiler of its own: it asks tcpdump
// (`tcpdump -y DLT -ddd EXPR`), so the full pcap-filter syntax works and
// means exactly what it means for tcpdump. tcpdump must be in PATH.
func CompileFilter(ctx context.Context, expr string, linkType int) (*Filter, error) {
	name, ok := linkTypeNames[linkType]
	if !ok {
		return nil, fmt.Errorf("cannot compile a filter for link type %d", linkType)
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil, fmt.Errorf("--filter needs tcpdump to compile BPF expressions and it is not in PATH: install tcpdump (apt-get install tcpdump) or drop --filter: %w", err)
	}
	cmd := exec.CommandContext(ctx, tcpdump, "-y", name, "-ddd", expr)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("invalid filter %q: %s (see pcap-filter(7) for the syntax)", expr, strings.TrimSpace(stderr.String()))
	}
	raw, err := parseDDD(string(out))
	if err != nil {
		return nil, fmt.Errorf("reading tcpdump's compiled filter: %w", err)
	}
	insts, ok := bpf.Disassemble(raw)
	if !ok {
		return nil, fmt.Errorf("filter %q uses BPF extensions pqtls cannot run; simplify it", expr)
	}
	vm, err := bpf.NewVM(insts)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	return &Filter{expr: expr, raw: raw, vm: vm}, nil
}

// parseDDD parses `tcpdump -ddd` output: a count, then "code jt jf k" lines.
func parseDDD(s string) ([]bpf.RawInstruction, error) {
	lines := strings.Fields(strings.ReplaceAll(s, "\n", " \n "))
	if len(lines) == 0 {
		return nil, errors.New("empty program")
	}
	n, err := strconv.Atoi(lines[0])
	if err != nil || n <= 0 || len(lines) != 1+4*n {
		return nil, fmt.Errorf("unexpected format %q", s)
	}
	out := make([]bpf.RawInstruction, n)
	for i := range out {
		var v [4]uint64
		for j := range v {
			v[j], err = strconv.ParseUint(lines[1+4*i+j], 10, 32)
			if err != nil {
				return nil, err
			}
		}
		out[i] = bpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])}
	}
	return out, nil
}

// FileOptions configure ReadFile.
type FileOptions struct {
	// Filter is a pcap-filter(7) expression; empty keeps every packet.
	Filter string
	// Lock, when set, is held while each packet is analysed, so that
	// another goroutine may read Analyzer.Stats under it while a stream is
	// read (pqtls observe -r - --serve).
	Lock sync.Locker
}

// ReadFile reads a pcap or pcapng capture (detected from its magic number)
// and feeds every packet to a. It does not call a.Flush. Packets of link
// types the decoder does not know are counted as undecodable.
func ReadFile(ctx context.Context, path string, opts FileOptions, a *Analyzer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening capture: %w", err)
	}
	defer f.Close()
	return ReadCapture(ctx, f, opts, a)
}

// ReadCapture is ReadFile on an open stream.
func ReadCapture(ctx context.Context, r io.Reader, opts FileOptions, a *Analyzer) error {
	cr, err := newCapReader(bufio.NewReaderSize(r, 1<<20))
	if err != nil {
		return err
	}
	filters := map[int]*Filter{}
	for n := 0; ; n++ {
		if n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		p, err := cr.next()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			if errors.Is(err, io.ErrUnexpectedEOF) && n > 0 {
				// A capture cut while being written: keep what was read.
				a.log.Warn("capture ends inside a packet; the rest is ignored")
				return nil
			}
			return fmt.Errorf("reading packet %d: %w", n+1, err)
		}
		lt, data := p.linkType, p.data
		if opts.Filter != "" {
			flt, ok := filters[lt]
			if !ok {
				flt, err = CompileFilter(ctx, opts.Filter, lt)
				if err != nil {
					return err
				}
				filters[lt] = flt
			}
			if !flt.Match(data) {
				a.stats.FiltersOut++
				continue
			}
		}
		if opts.Lock != nil {
			opts.Lock.Lock()
			a.Packet(p.ts, lt, data)
			opts.Lock.Unlock()
		} else {
			a.Packet(p.ts, lt, data)
		}
	}
}
