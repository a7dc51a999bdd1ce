package testpeer

import (
	"errors"
	"os"
	"os/exec"
)

// netnsAvailable checks that network namespaces can be created: root and
// ip(8) present.
func netnsAvailable() (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("network namespace tests need root")
	}
	p, err := exec.LookPath("ip")
	if err != nil {
		return "", errors.New("ip(8) from iproute2 not found")
	}
	return p, nil
}
