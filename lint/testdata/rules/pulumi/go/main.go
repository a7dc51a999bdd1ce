// Command infra is a Pulumi program.
package main

func main() {
	_ = listenerArgs{
		Protocol:  "HTTPS",
		SslPolicy: "ELBSecurityPolicy-FS-1-2-Res-2020-10",
	}
	_ = listenerArgs{
		Protocol:  "TLS",
		SslPolicy: "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
	}
}

// listenerArgs stands in for lb.ListenerArgs (pulumi.String values).
type listenerArgs struct {
	Protocol  string
	SslPolicy string
}
