package canary

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// PMTU probe statuses.
const (
	PMTUStatusOK           = "ok"
	PMTUStatusSkipped      = "skipped"
	PMTUStatusInconclusive = "inconclusive"
)

// Bounds of the probe.
const (
	pmtuMaxProbes = 18 // sizes tried, at most two sends each
	pmtuTries     = 2
	pmtuMinWait   = 300 * time.Millisecond
	pmtuMaxWait   = 2 * time.Second
	pmtuMaxSize   = 65535
)

// PMTUResult is the outcome of the DF-bit path-MTU probe: ICMP echo requests
// of increasing size, with the don't-fragment bit set and the kernel's path
// MTU cache bypassed (IP_PMTUDISC_PROBE), towards the target's address.
type PMTUResult struct {
	// Status is ok, skipped (no privilege, or off) or inconclusive (the
	// target does not answer pings).
	Status string `json:"status"`
	// Reason explains a skipped or inconclusive probe.
	Reason string `json:"reason,omitempty"`
	// PathMTU is the largest IP packet (header included) that got an echo
	// reply.
	PathMTU int `json:"path_mtu,omitempty"`
	// SmallestLost is the smallest size that got no reply (0: none lost).
	SmallestLost int `json:"smallest_lost,omitempty"`
	// ICMPTooBig is the MTU announced by an ICMP "fragmentation needed" /
	// "packet too big" received during the probe (0: none arrived).
	ICMPTooBig int `json:"icmp_too_big_mtu,omitempty"`
	// BlackHole: packets above PathMTU vanished without any ICMP error,
	// while the local interface could send them. TCP cannot discover this
	// MTU by itself: segments larger than it are silently lost.
	BlackHole bool `json:"black_hole"`
	// Probes is the number of echo requests sent.
	Probes int `json:"probes"`
}

// pinger sends one echo request of a given IP packet size and waits.
type pinger struct {
	fd    int
	v6    bool
	dst   net.IP
	id    uint16
	seq   uint16
	wait  time.Duration
	sent  int
	tooBg int
}

// probePMTU runs the DF-bit probe towards target's address.
func probePMTU(ctx context.Context, target string, path PathInfo) *PMTUResult {
	res := &PMTUResult{}
	host, _, _ := net.SplitHostPort(target)
	ip := net.ParseIP(host)
	if ra, err := net.ResolveTCPAddr("tcp", path.RemoteAddr); err == nil && path.RemoteAddr != "" {
		ip = ra.IP
	}
	if ip == nil {
		ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
		if err != nil || len(ips) == 0 {
			res.Status, res.Reason = PMTUStatusInconclusive, fmt.Sprintf("cannot resolve %s", host)
			return res
		}
		ip = ips[0]
	}
	p, err := newPinger(ip)
	if err != nil {
		res.Status = PMTUStatusSkipped
		if isPermission(errors.Unwrap(err)) || isPermission(err) {
			res.Reason = "needs root or CAP_NET_RAW to send DF-bit ICMP probes; run as root for the path-MTU probe"
		} else {
			res.Reason = err.Error()
		}
		return res
	}
	defer unix.Close(p.fd)
	p.wait = pmtuMinWait
	if rtt := time.Duration((path.RTTMs + 4*path.RTTVarMs) * float64(time.Millisecond)); 2*rtt > p.wait {
		p.wait = min(2*rtt, pmtuMaxWait)
	}

	floor := 576
	if p.v6 {
		floor = 1280
	}
	hi := path.InterfaceMTU
	if hi <= 0 {
		hi = 1500
	}
	hi = min(hi, pmtuMaxSize)
	defer func() { res.Probes = p.sent; res.ICMPTooBig = p.tooBg }()

	ok := func(size int) bool {
		for range pmtuTries {
			if ctx.Err() != nil {
				return false
			}
			if p.ping(ctx, size) {
				return true
			}
		}
		return false
	}
	if !ok(floor) {
		res.Status = PMTUStatusInconclusive
		res.Reason = fmt.Sprintf("no echo reply to a %d-byte ping: the target (or a firewall) does not answer ICMP echo, so the probe cannot tell", floor)
		return res
	}
	if ok(hi) {
		res.Status, res.PathMTU = PMTUStatusOK, hi
		return res
	}
	lo := floor
	for steps := 0; hi-lo > 1 && steps < pmtuMaxProbes; steps++ {
		mid := (lo + hi) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	res.Status, res.PathMTU, res.SmallestLost = PMTUStatusOK, lo, hi
	res.BlackHole = p.tooBg == 0
	return res
}

func newPinger(ip net.IP) (*pinger, error) {
	p := &pinger{dst: ip, v6: ip.To4() == nil}
	var b [2]byte
	_, _ = rand.Read(b[:])
	p.id = binary.BigEndian.Uint16(b[:])
	var err error
	if p.v6 {
		p.fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	} else {
		p.fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	}
	if err != nil {
		return nil, fmt.Errorf("raw ICMP socket: %w", err)
	}
	if p.v6 {
		err = unix.SetsockoptInt(p.fd, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_PROBE)
	} else {
		err = unix.SetsockoptInt(p.fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
	}
	if err != nil {
		unix.Close(p.fd)
		return nil, fmt.Errorf("setting the DF bit (IP_PMTUDISC_PROBE): %w", err)
	}
	return p, nil
}

// ping sends one echo request making an IP packet of size bytes and reports
// whether its reply arrived within p.wait.
func (p *pinger) ping(ctx context.Context, size int) bool {
	p.seq++
	hdr := 20
	if p.v6 {
		hdr = 40
	}
	msg := make([]byte, size-hdr)
	typ := byte(8)
	if p.v6 {
		typ = 128
	}
	msg[0] = typ
	binary.BigEndian.PutUint16(msg[4:], p.id)
	binary.BigEndian.PutUint16(msg[6:], p.seq)
	if !p.v6 { // the kernel computes the ICMPv6 checksum
		binary.BigEndian.PutUint16(msg[2:], checksum(msg))
	}
	var sa unix.Sockaddr
	if p.v6 {
		a := &unix.SockaddrInet6{}
		copy(a.Addr[:], p.dst.To16())
		sa = a
	} else {
		a := &unix.SockaddrInet4{}
		copy(a.Addr[:], p.dst.To4())
		sa = a
	}
	p.sent++
	if err := unix.Sendto(p.fd, msg, 0, sa); err != nil {
		// EMSGSIZE: larger than the local interface allows.
		return false
	}
	deadline := time.Now().Add(p.wait)
	buf := make([]byte, 65536)
	for ctx.Err() == nil {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err != nil && err != unix.EINTR {
			return false
		}
		if n <= 0 {
			continue
		}
		m, from, err := unix.Recvfrom(p.fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			continue
		}
		if p.match(buf[:m], from) {
			return true
		}
	}
	return false
}

// match reports an echo reply to the current request, and notes ICMP
// too-big errors.
func (p *pinger) match(pkt []byte, from unix.Sockaddr) bool {
	var src net.IP
	switch a := from.(type) {
	case *unix.SockaddrInet4:
		src = net.IP(a.Addr[:])
	case *unix.SockaddrInet6:
		src = net.IP(a.Addr[:])
	}
	if !p.v6 {
		// IPv4 raw sockets deliver the IP header.
		if len(pkt) < 20 {
			return false
		}
		ihl := int(pkt[0]&0x0f) * 4
		if len(pkt) < ihl+8 {
			return false
		}
		pkt = pkt[ihl:]
	}
	if len(pkt) < 8 {
		return false
	}
	typ, code := pkt[0], pkt[1]
	switch {
	case !p.v6 && typ == 3 && code == 4, p.v6 && typ == 2:
		// Fragmentation needed (RFC 1191) / packet too big (RFC 4443).
		if !p.v6 {
			p.tooBg = int(binary.BigEndian.Uint16(pkt[6:]))
		} else {
			p.tooBg = int(binary.BigEndian.Uint32(pkt[4:]))
		}
		return false
	case !p.v6 && typ == 0, p.v6 && typ == 129:
		return src.Equal(p.dst) && binary.BigEndian.Uint16(pkt[4:]) == p.id && binary.BigEndian.Uint16(pkt[6:]) == p.seq
	}
	return false
}

// checksum is the Internet checksum (RFC 1071).
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
