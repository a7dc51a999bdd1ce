//go:build linux

package observe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Live captures on a network interface with a pure-Go AF_PACKET socket (no
// libpcap, no cgo) until ctx ends, feeding every packet to a. It needs
// CAP_NET_RAW (root). The caller runs a.Flush afterwards.
func Live(ctx context.Context, opts LiveOptions, a *Analyzer) error {
	ifi, loopbacks, err := liveInterface(opts.Interface)
	if err != nil {
		return err
	}
	fd, linkType, err := openPacketSocket(ctx, opts, ifi)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	snap := opts.Snaplen
	if snap <= 0 {
		snap = maxCapLen
	}
	buf := make([]byte, snap)
	// kernelStats adds the packets the kernel dropped since the last call
	// (reading PACKET_STATISTICS resets it).
	kernelStats := func() {
		if st, err := unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			a.stats.KernelDrops += int64(st.Drops)
		}
	}
	defer kernelStats()
	lastTick := time.Now()
	for {
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(lastTick) >= time.Second {
			lastTick = time.Now()
			kernelStats()
			if opts.OnTick != nil {
				opts.OnTick()
			}
		}
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				a.Tick(time.Now())
				continue
			}
			return fmt.Errorf("capturing on %s: %w", opts.Interface, err)
		}
		// On loopback every packet is seen twice (outgoing and incoming):
		// keep the incoming copy only.
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING && loopbacks[ll.Ifindex] {
			continue
		}
		a.Packet(time.Now(), linkType, buf[:n])
	}
}

// liveInterface looks up the capture interface ("any": every interface,
// Index 0) and the indexes of the loopback interfaces among those captured.
func liveInterface(name string) (*net.Interface, map[int]bool, error) {
	loopbacks := map[int]bool{}
	if name == "any" {
		ifs, err := net.Interfaces()
		if err != nil {
			return nil, nil, fmt.Errorf("listing interfaces: %w", err)
		}
		for _, i := range ifs {
			if i.Flags&net.FlagLoopback != 0 {
				loopbacks[i.Index] = true
			}
		}
		return &net.Interface{Name: "any"}, loopbacks, nil
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, nil, fmt.Errorf("interface %q: %w (list interfaces with 'ip link', or use any)", name, err)
	}
	if ifi.Flags&net.FlagLoopback != 0 {
		loopbacks[ifi.Index] = true
	}
	return ifi, loopbacks, nil
}

// openPacketSocket opens, filters and binds the AF_PACKET socket for ifi
// and returns it with the link type of the packets it delivers.
func openPacketSocket(ctx context.Context, opts LiveOptions, ifi *net.Interface) (int, int, error) {
	// "any" (as with tcpdump -i any) captures on every interface with a
	// SOCK_DGRAM socket: the kernel strips the link-layer headers, which
	// differ between interfaces, and every packet starts at its IP header.
	anyIface := ifi.Name == "any" && ifi.Index == 0
	sockType := unix.SOCK_RAW
	if anyIface {
		sockType = unix.SOCK_DGRAM
	}
	// Protocol 0: the socket receives nothing until bind, so no packet can
	// be queued before the filter is attached (it would bypass it).
	fd, err := unix.Socket(unix.AF_PACKET, sockType|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return -1, 0, fmt.Errorf("live capture needs root or CAP_NET_RAW (run with sudo, or setcap cap_net_raw+ep on the binary): %w", err)
		}
		return -1, 0, fmt.Errorf("opening AF_PACKET socket: %w", err)
	}
	// Link type: ARPHRD_ETHER and loopback frames carry an Ethernet header
	// on SOCK_RAW; other devices (tun, wireguard) deliver raw IP.
	linkType := LinkEthernet
	if anyIface || (ifi.Flags&net.FlagLoopback == 0 && len(ifi.HardwareAddr) == 0) {
		linkType = LinkRaw
	}
	if err := setupPacketSocket(ctx, fd, opts, ifi, anyIface, linkType); err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	return fd, linkType, nil
}

// setupPacketSocket attaches the BPF filter before binding, binds, sets
// promiscuous mode and the receive timeout and buffer.
func setupPacketSocket(ctx context.Context, fd int, opts LiveOptions, ifi *net.Interface, anyIface bool, linkType int) error {
	if opts.Filter != "" {
		flt, err := CompileFilter(ctx, opts.Filter, linkType)
		if err != nil {
			return err
		}
		prog := make([]unix.SockFilter, len(flt.raw))
		for i, in := range flt.raw {
			prog[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
		}
		if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}); err != nil {
			return fmt.Errorf("attaching filter %q: %w", opts.Filter, err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fmt.Errorf("binding to %s: %w", opts.Interface, err)
	}
	if !opts.NoPromisc && !anyIface { // "any" has no promiscuous mode (nor with tcpdump)
		mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fmt.Errorf("putting %s in promiscuous mode: %w (capture only this host's traffic with --no-promiscuous-mode)", opts.Interface, err)
		}
	}
	// Wake up every 200 ms to check ctx.
	tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("setting receive timeout: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	return nil
}
