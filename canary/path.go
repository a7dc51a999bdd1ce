package canary

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// PathInfo is what the client side knows of the path to the target, read
// from the first connection that got an answer.
type PathInfo struct {
	LocalAddr  string `json:"local_addr,omitempty"`
	RemoteAddr string `json:"remote_addr,omitempty"`
	// Interface is the local interface that holds LocalAddr, and
	// InterfaceMTU its MTU.
	Interface    string `json:"interface,omitempty"`
	InterfaceMTU int    `json:"interface_mtu,omitempty"`
	// RouteMTU is the kernel's path MTU for the connection (IP_MTU or
	// IPV6_MTU on the connected socket: route MTU, lowered by any ICMP
	// "fragmentation needed" / "packet too big" received).
	RouteMTU int `json:"route_mtu,omitempty"`
	// MSS is TCP_MAXSEG: the payload size of a full segment on this
	// connection, after the peer's MSS option and any MSS clamping.
	MSS int `json:"tcp_mss,omitempty"`
	// SndMSS, RcvMSS, AdvMSS and PMTU come from TCP_INFO.
	SndMSS  int `json:"tcp_snd_mss,omitempty"`
	RcvMSS  int `json:"tcp_rcv_mss,omitempty"`
	AdvMSS  int `json:"tcp_adv_mss,omitempty"`
	TCPPMTU int `json:"tcp_pmtu,omitempty"`
	// RTT and RTTVar are the kernel's smoothed round-trip estimate.
	RTTMs    float64 `json:"rtt_ms,omitempty"`
	RTTVarMs float64 `json:"rttvar_ms,omitempty"`
	// MinRTTMs is the smallest round trip the kernel measured.
	MinRTTMs float64 `json:"min_rtt_ms,omitempty"`
	// Retransmits is the connection's total retransmitted segments.
	Retransmits int `json:"retransmits"`
	// PMTU is the result of the DF-bit probe, when one ran.
	PMTU *PMTUResult `json:"pmtu_probe,omitempty"`
	// Notes explains what could not be read.
	Notes []string `json:"notes,omitempty"`
}

// pathInfo reads the socket options of a connected TCP connection.
func pathInfo(conn net.Conn) PathInfo {
	p := PathInfo{LocalAddr: conn.LocalAddr().String(), RemoteAddr: conn.RemoteAddr().String()}
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		p.Notes = append(p.Notes, "not a TCP connection: no socket details")
		return p
	}
	if la, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		p.Interface, p.InterfaceMTU = interfaceFor(la.IP)
	}
	v6 := false
	if ra, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		v6 = ra.IP.To4() == nil
	}
	rc, err := tcp.SyscallConn()
	if err != nil {
		p.Notes = append(p.Notes, fmt.Sprintf("socket details unavailable: %v", err))
		return p
	}
	var notes []string
	ctrlErr := rc.Control(func(fd uintptr) {
		s := int(fd)
		level, opt := unix.IPPROTO_IP, unix.IP_MTU
		if v6 {
			level, opt = unix.IPPROTO_IPV6, unix.IPV6_MTU
		}
		if v, err := unix.GetsockoptInt(s, level, opt); err == nil {
			p.RouteMTU = v
		} else {
			notes = append(notes, fmt.Sprintf("route MTU (IP_MTU): %v", err))
		}
		if v, err := unix.GetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_MAXSEG); err == nil {
			p.MSS = v
		} else {
			notes = append(notes, fmt.Sprintf("TCP_MAXSEG: %v", err))
		}
		if ti, err := unix.GetsockoptTCPInfo(s, unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			p.SndMSS, p.RcvMSS, p.AdvMSS, p.TCPPMTU = int(ti.Snd_mss), int(ti.Rcv_mss), int(ti.Advmss), int(ti.Pmtu)
			p.RTTMs, p.RTTVarMs, p.MinRTTMs = float64(ti.Rtt)/1000, float64(ti.Rttvar)/1000, float64(ti.Min_rtt)/1000
			p.Retransmits = int(ti.Total_retrans)
		} else {
			notes = append(notes, fmt.Sprintf("TCP_INFO: %v", err))
		}
	})
	if ctrlErr != nil {
		notes = append(notes, fmt.Sprintf("socket details unavailable: %v", ctrlErr))
	}
	p.Notes = append(p.Notes, notes...)
	return p
}

// interfaceFor finds the local interface holding ip.
func interfaceFor(ip net.IP) (string, int) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", 0
	}
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return ifc.Name, ifc.MTU
			}
		}
	}
	return "", 0
}

// isPermission reports a missing privilege (EPERM/EACCES).
func isPermission(err error) bool {
	return err == syscall.EPERM || err == syscall.EACCES
}
