package observe

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// maxCapLen bounds one captured packet (tcpdump's own maximum snaplen).
// Capture files are untrusted input: a length field above it is an error,
// never an allocation.
const maxCapLen = 262144

// maxBlockLen bounds one pcapng block.
const maxBlockLen = maxCapLen + 64<<10

// capPacket is one packet read from a capture file. data is valid until the
// next call to next.
type capPacket struct {
	ts       time.Time
	linkType int
	data     []byte
	origLen  int
}

// capReader reads pcap and pcapng files. pqtls reads them itself rather than
// through a library so that every length field is bounded before anything
// is allocated, and so that reading costs no copy per packet.
type capReader interface {
	next() (capPacket, error)
}

var errCapture = errors.New("malformed capture file")

func badCapture(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errCapture, fmt.Sprintf(format, a...))
}

// newCapReader detects the format from the magic number.
func newCapReader(br *bufio.Reader) (capReader, error) {
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("not a pcap or pcapng file (too short): check the path, or record one with tcpdump -w")
	}
	switch binary.BigEndian.Uint32(magic) {
	case 0x0a0d0d0a:
		r := &ngReader{r: br, buf: make([]byte, 0, 4096)}
		return r, nil
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return newPcapReader(br)
	}
	return nil, fmt.Errorf("not a pcap or pcapng file (magic %x): record one with tcpdump -w FILE", magic)
}

// pcapReader reads the classic libpcap format.
type pcapReader struct {
	r        *bufio.Reader
	bo       binary.ByteOrder
	nano     bool
	linkType int
	hdr      [16]byte
	buf      []byte
}

func newPcapReader(br *bufio.Reader) (*pcapReader, error) {
	var h [24]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, badCapture("pcap header: %v", err)
	}
	r := &pcapReader{r: br}
	switch binary.BigEndian.Uint32(h[:4]) {
	case 0xa1b2c3d4:
		r.bo = binary.BigEndian
	case 0xa1b23c4d:
		r.bo, r.nano = binary.BigEndian, true
	case 0xd4c3b2a1:
		r.bo = binary.LittleEndian
	case 0x4d3cb2a1:
		r.bo, r.nano = binary.LittleEndian, true
	}
	// The FCS bits live in the top bits of the link type (pcap-savefile(5)).
	r.linkType = int(r.bo.Uint32(h[20:24]) & 0x0fffffff)
	return r, nil
}

func (r *pcapReader) next() (capPacket, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return capPacket{}, err
		}
		return capPacket{}, err
	}
	sec := int64(r.bo.Uint32(r.hdr[0:4]))
	frac := int64(r.bo.Uint32(r.hdr[4:8]))
	capLen := r.bo.Uint32(r.hdr[8:12])
	origLen := r.bo.Uint32(r.hdr[12:16])
	if capLen > maxCapLen {
		return capPacket{}, badCapture("packet of %d captured bytes (more than %d): the file is damaged", capLen, maxCapLen)
	}
	if cap(r.buf) < int(capLen) {
		r.buf = make([]byte, capLen)
	}
	data := r.buf[:capLen]
	if _, err := io.ReadFull(r.r, data); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return capPacket{}, err
	}
	if !r.nano {
		frac *= 1000
	}
	return capPacket{ts: time.Unix(sec, frac).UTC(), linkType: r.linkType, data: data, origLen: int(origLen)}, nil
}

// ngInterface is what an Interface Description Block says.
type ngInterface struct {
	linkType int
	// tsresol is the if_tsresol option (default 6: microseconds).
	tsresol uint8
}

// ngReader reads pcapng (draft-ietf-opsawg-pcapng): Section Header,
// Interface Description, Enhanced Packet and Simple Packet blocks; other
// blocks are skipped.
type ngReader struct {
	r      *bufio.Reader
	bo     binary.ByteOrder
	ifaces []ngInterface
	buf    []byte
}

func (r *ngReader) next() (capPacket, error) {
	for {
		var h [8]byte
		if _, err := io.ReadFull(r.r, h[:]); err != nil {
			return capPacket{}, err
		}
		typ := binary.BigEndian.Uint32(h[:4])
		if typ == 0x0a0d0d0a {
			// Section Header: the byte-order magic follows the length.
			bom, err := r.r.Peek(4)
			if err != nil {
				return capPacket{}, io.ErrUnexpectedEOF
			}
			switch binary.BigEndian.Uint32(bom) {
			case 0x1a2b3c4d:
				r.bo = binary.BigEndian
			case 0x4d3c2b1a:
				r.bo = binary.LittleEndian
			default:
				return capPacket{}, badCapture("pcapng section with byte-order magic %x", bom)
			}
			r.ifaces = r.ifaces[:0]
		} else if r.bo == nil {
			return capPacket{}, badCapture("pcapng file does not start with a section header")
		} else {
			typ = r.bo.Uint32(h[:4])
		}
		length := r.bo.Uint32(h[4:8])
		if length < 12 || length%4 != 0 || length > maxBlockLen {
			return capPacket{}, badCapture("pcapng block of %d bytes", length)
		}
		body := int(length) - 12
		if cap(r.buf) < body+4 {
			r.buf = make([]byte, body+4)
		}
		b := r.buf[:body+4] // body and the trailing length
		if _, err := io.ReadFull(r.r, b); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return capPacket{}, err
		}
		if r.bo.Uint32(b[body:]) != length {
			return capPacket{}, badCapture("pcapng block lengths disagree")
		}
		b = b[:body]
		switch typ {
		case 0x0a0d0d0a: // section header: nothing else we need
		case 1: // Interface Description Block
			if len(b) < 8 {
				return capPacket{}, badCapture("short interface description block")
			}
			intf := ngInterface{linkType: int(r.bo.Uint16(b[0:2])), tsresol: 6}
			opts := b[8:]
			for len(opts) >= 4 {
				code, olen := r.bo.Uint16(opts[0:2]), int(r.bo.Uint16(opts[2:4]))
				if code == 0 || 4+olen > len(opts) {
					break
				}
				if code == 9 && olen >= 1 { // if_tsresol
					intf.tsresol = opts[4]
				}
				opts = opts[4+(olen+3)&^3:]
			}
			if len(r.ifaces) >= 1024 {
				return capPacket{}, badCapture("more than 1024 interfaces in a pcapng section")
			}
			r.ifaces = append(r.ifaces, intf)
		case 6: // Enhanced Packet Block
			if len(b) < 20 {
				return capPacket{}, badCapture("short enhanced packet block")
			}
			id := int(r.bo.Uint32(b[0:4]))
			if id >= len(r.ifaces) {
				return capPacket{}, badCapture("packet for interface %d, which was not described", id)
			}
			ts := uint64(r.bo.Uint32(b[4:8]))<<32 | uint64(r.bo.Uint32(b[8:12]))
			capLen := int(r.bo.Uint32(b[12:16]))
			origLen := int(r.bo.Uint32(b[16:20]))
			if capLen < 0 || capLen > len(b)-20 {
				return capPacket{}, badCapture("packet of %d captured bytes in a %d-byte block", capLen, len(b))
			}
			intf := r.ifaces[id]
			return capPacket{ts: ngTime(ts, intf.tsresol), linkType: intf.linkType, data: b[20 : 20+capLen], origLen: origLen}, nil
		case 3: // Simple Packet Block
			if len(b) < 4 || len(r.ifaces) == 0 {
				return capPacket{}, badCapture("simple packet block without interface")
			}
			origLen := int(r.bo.Uint32(b[0:4]))
			capLen := min(origLen, len(b)-4)
			return capPacket{linkType: r.ifaces[0].linkType, data: b[4 : 4+capLen], origLen: origLen}, nil
		}
	}
}

// ngTime converts a pcapng timestamp in units of if_tsresol: 10^-v seconds,
// or 2^-v seconds when the top bit is set.
func ngTime(ts uint64, res uint8) time.Time {
	var perSec uint64
	if res&0x80 == 0 {
		if res&0x7f > 19 {
			return time.Time{}
		}
		perSec = 1
		for range res & 0x7f {
			perSec *= 10
		}
	} else {
		if res&0x7f > 63 {
			return time.Time{}
		}
		perSec = 1 << (res & 0x7f)
	}
	sec, frac := ts/perSec, ts%perSec
	ns := uint64(float64(frac) * 1e9 / float64(perSec))
	if perSec <= 1e9 && 1e9%perSec == 0 {
		ns = frac * (1e9 / perSec)
	}
	if sec > math.MaxInt64/2 {
		return time.Time{}
	}
	return time.Unix(int64(sec), int64(ns)).UTC()
}
