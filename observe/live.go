package observe

// LiveOptions configure Live.
type LiveOptions struct {
	// Interface to capture on, e.g. "eth0" or "lo"; "any" captures on every
	// interface (IP headers only, no promiscuous mode, as tcpdump -i any).
	Interface string
	// Filter is a pcap-filter(7) expression compiled by tcpdump and attached
	// to the socket in the kernel; empty captures every packet.
	Filter string
	// Snaplen bounds the bytes read per packet. Default 262144 (GRO/GSO
	// packets on loopback and virtual NICs exceed 64 KiB).
	Snaplen int
	// OnTick, when set, is called about once a second from the capture
	// goroutine (e.g. to publish Analyzer.Stats).
	OnTick func()
	// NoPromisc leaves the interface out of promiscuous mode, so that only
	// traffic to and from this host is seen (tcpdump -p). By default the
	// socket asks for promiscuous mode, like tcpdump, so that a mirror (SPAN)
	// port shows the traffic of other hosts; the kernel drops the request
	// when the socket closes.
	NoPromisc bool
}
