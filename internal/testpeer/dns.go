package testpeer

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
)

// NXDomainResolver returns a resolver that never leaves the process: every
// query gets NXDOMAIN, so a lookup fails with "no such host". lookups
// counts the DNS exchanges started (A and AAAA are two).
func NXDomainResolver() (r *net.Resolver, lookups *atomic.Int32) {
	lookups = new(atomic.Int32)
	r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		lookups.Add(1)
		client, server := net.Pipe()
		go answerNXDomain(server)
		return client, nil
	}}
	return r, lookups
}

// answerNXDomain answers DNS queries in TCP framing (a net.Pipe is not a
// PacketConn) with NXDOMAIN until the client closes.
func answerNXDomain(c net.Conn) {
	defer c.Close()
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil || len(q) < 12 {
			return
		}
		q[2], q[3] = 0x81, 0x83 // response, recursion desired and available, NXDOMAIN
		for i := 6; i < 12; i++ {
			q[i] = 0 // no answer, authority or additional records
		}
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)); err != nil {
			return
		}
	}
}
