//go:build !linux

package observe

import (
	"context"
	"errors"
)

// Live is only implemented on Linux (AF_PACKET).
func Live(ctx context.Context, opts LiveOptions, a *Analyzer) error {
	return errors.New("live capture is only supported on Linux; capture with tcpdump -w and use -r")
}
