package tunnel

import (
	"github.com/pqtls/pqtls/internal/certload"
)

// reloadDebounce groups the burst of events an editor or a Kubernetes
// secret update (a symlink swap of ..data) produces into one reload.
const reloadDebounce = certload.Debounce

// watch reloads the tunnel when a certificate, key or CA file changes,
// through internal/certload's watcher (it watches the folders, so renames
// and symlink swaps are seen). Nil without any such file.
func (t *Tunnel) watch() (*certload.Watcher, error) {
	var files []string
	for _, l := range t.listeners {
		paths := []string{l.cfg.Cert, l.cfg.Key, l.cfg.CA, l.cfg.TargetCA}
		for _, p := range l.cfg.ExtraCerts {
			paths = append(paths, p.Cert, p.Key)
		}
		for _, f := range paths {
			if f != "" {
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		return nil, nil
	}
	return certload.WatchFiles(files, t.log, func() {
		t.log.Info("tunnel: certificate files changed; reloading")
		_ = t.Reload()
	})
}
