package main

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/pqtls/pqtls/cmd/pqtls/internal/demo"
	"github.com/spf13/cobra"
)

func newDemoCmd(s streams) *cobra.Command {
	var handshakes int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show hybrid vs classical TLS side by side, self-contained, on loopback",
		Long: `Start in-process servers (prefer, classical-only, require) and clients of each policy on 127.0.0.1,
and show the negotiated group per pair, the bytes each handshake puts on the wire, what hybrid costs
(one measurement: --handshakes per case after 20 warm-up, p50 with its interquartile range), the
refused classical client, a scan and a canary of the servers, a tunnel, and the metrics. Nothing
leaves the machine; it takes a few seconds (the first 'go run' compiles pqtls for 20-40 s first).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if handshakes < demo.MinHandshakes || handshakes > 10000 {
				return usageErrorf("--handshakes %d: give at least %d (the cost is a median with its interquartile range) and at most 10000", handshakes, demo.MinHandshakes)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if ctx == nil {
				ctx = context.Background()
			}
			if err := demo.Run(ctx, s.out, demo.Options{Handshakes: handshakes}); err != nil {
				return failuref("demo: %v", err)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&handshakes, "handshakes", demo.MinHandshakes, "measured handshakes per case for the hybrid-cost figures (after 20 warm-up)")
	return cmd
}
