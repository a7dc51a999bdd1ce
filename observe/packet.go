package observe

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Link types (pcap LINKTYPE_* values) the decoder understands.
const (
	LinkNull     = 0   // BSD loopback: 4-byte host-order address family
	LinkEthernet = 1   // Ethernet II, with 802.1Q/802.1ad VLAN tags
	LinkRaw      = 101 // raw IPv4/IPv6
	LinkLoop     = 108 // OpenBSD loopback: 4-byte network-order family
	LinkSLL      = 113 // Linux cooked capture v1 (tcpdump -i any)
	LinkIPv4     = 228 // raw IPv4
	LinkIPv6     = 229 // raw IPv6
	LinkSLL2     = 276 // Linux cooked capture v2
	// DLT_RAW values used by some platforms for LINKTYPE_RAW.
	linkRawAlt1 = 12
	linkRawAlt2 = 14
)

// TCP flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagACK = 0x10
)

// segment is one decoded TCP segment. Payload aliases the packet buffer.
type segment struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    uint8
	payload  []byte
	// wireLen is the TCP payload length according to the IP header; it is
	// larger than len(payload) when the capture's snaplen cut the packet.
	wireLen int
}

var (
	errNotTCP       = errors.New("not a TCP packet")
	errShortPacket  = errors.New("packet too short for its headers")
	errUnknownLink  = errors.New("unsupported link type")
	errIPFragment   = errors.New("IP fragment")
	errBadIPHeader  = errors.New("malformed IP header")
	errBadTCPHeader = errors.New("malformed TCP header")
)

// SupportedLinkType reports whether the decoder understands link type lt.
func SupportedLinkType(lt int) bool {
	switch lt {
	case LinkNull, LinkEthernet, LinkRaw, LinkLoop, LinkSLL, LinkIPv4, LinkIPv6, LinkSLL2, linkRawAlt1, linkRawAlt2:
		return true
	}
	return false
}

// decodePacket decodes the link, IP and TCP headers of one captured packet.
// It never panics on any input: every length is checked.
//
// long: one bounds-checked decoder per layer (link, IPv4/IPv6 with
// extension headers, TCP), in wire order.
func decodePacket(linkType int, data []byte, seg *segment) error {
	var ethType uint16
	switch linkType {
	case LinkEthernet:
		if len(data) < 14 {
			return errShortPacket
		}
		ethType = binary.BigEndian.Uint16(data[12:14])
		data = data[14:]
		for ethType == 0x8100 || ethType == 0x88a8 { // VLAN tags
			if len(data) < 4 {
				return errShortPacket
			}
			ethType = binary.BigEndian.Uint16(data[2:4])
			data = data[4:]
		}
	case LinkSLL:
		if len(data) < 16 {
			return errShortPacket
		}
		ethType = binary.BigEndian.Uint16(data[14:16])
		data = data[16:]
	case LinkSLL2:
		if len(data) < 20 {
			return errShortPacket
		}
		ethType = binary.BigEndian.Uint16(data[0:2])
		data = data[20:]
	case LinkNull, LinkLoop:
		if len(data) < 4 {
			return errShortPacket
		}
		fam := binary.LittleEndian.Uint32(data[:4])
		if linkType == LinkLoop || fam > 0xffff {
			fam = binary.BigEndian.Uint32(data[:4])
		}
		switch fam {
		case 2:
			ethType = 0x0800
		case 10, 24, 28, 30: // AF_INET6 on Linux, BSDs, macOS
			ethType = 0x86dd
		default:
			return errNotTCP
		}
		data = data[4:]
	case LinkRaw, linkRawAlt1, linkRawAlt2, LinkIPv4, LinkIPv6:
		if len(data) < 1 {
			return errShortPacket
		}
		switch data[0] >> 4 {
		case 4:
			ethType = 0x0800
		case 6:
			ethType = 0x86dd
		default:
			return errBadIPHeader
		}
	default:
		return errUnknownLink
	}
	var tcp []byte
	var tcpWireLen int
	switch ethType {
	case 0x0800:
		if len(data) < 20 {
			return errShortPacket
		}
		if data[0]>>4 != 4 {
			return errBadIPHeader
		}
		ihl := int(data[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(data[2:4]))
		if ihl < 20 || total < ihl || len(data) < ihl {
			return errBadIPHeader
		}
		if data[9] != 6 {
			return errNotTCP
		}
		if frag := binary.BigEndian.Uint16(data[6:8]); frag&0x3fff != 0 { // MF or offset
			return errIPFragment
		}
		src, _ := netip.AddrFromSlice(data[12:16])
		dst, _ := netip.AddrFromSlice(data[16:20])
		seg.src = netip.AddrPortFrom(src, 0)
		seg.dst = netip.AddrPortFrom(dst, 0)
		tcpWireLen = total - ihl
		tcp = data[ihl:]
		if len(tcp) > tcpWireLen { // Ethernet padding
			tcp = tcp[:tcpWireLen]
		}
	case 0x86dd:
		if len(data) < 40 {
			return errShortPacket
		}
		if data[0]>>4 != 6 {
			return errBadIPHeader
		}
		payloadLen := int(binary.BigEndian.Uint16(data[4:6]))
		next := data[6]
		src, _ := netip.AddrFromSlice(data[8:24])
		dst, _ := netip.AddrFromSlice(data[24:40])
		seg.src = netip.AddrPortFrom(src, 0)
		seg.dst = netip.AddrPortFrom(dst, 0)
		rest := data[40:]
		// Walk the common extension headers; a fragment header ends it.
		for hops := 0; next != 6; hops++ {
			if hops > 8 {
				return errNotTCP
			}
			switch next {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(rest) < 8 {
					return errShortPacket
				}
				l := (int(rest[1]) + 1) * 8
				if len(rest) < l || payloadLen < l {
					return errBadIPHeader
				}
				next = rest[0]
				rest = rest[l:]
				payloadLen -= l
			case 44:
				return errIPFragment
			default:
				return errNotTCP
			}
		}
		tcpWireLen = payloadLen
		tcp = rest
		if len(tcp) > tcpWireLen {
			tcp = tcp[:tcpWireLen]
		}
	default:
		return errNotTCP
	}
	if len(tcp) < 20 {
		return errShortPacket
	}
	off := int(tcp[12]>>4) * 4
	if off < 20 || off > tcpWireLen {
		return errBadTCPHeader
	}
	if len(tcp) < off {
		return errShortPacket
	}
	seg.src = netip.AddrPortFrom(seg.src.Addr(), binary.BigEndian.Uint16(tcp[0:2]))
	seg.dst = netip.AddrPortFrom(seg.dst.Addr(), binary.BigEndian.Uint16(tcp[2:4]))
	seg.seq = binary.BigEndian.Uint32(tcp[4:8])
	seg.ack = binary.BigEndian.Uint32(tcp[8:12])
	seg.flags = tcp[13]
	seg.payload = tcp[off:]
	seg.wireLen = tcpWireLen - off
	return nil
}
