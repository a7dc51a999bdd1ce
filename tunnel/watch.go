package tunnel

import (
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// reloadDebounce groups the burst of events an editor or a Kubernetes
// secret update (a symlink swap of ..data) produces into one reload.
const reloadDebounce = 200 * time.Millisecond

type watcher struct {
	w    *fsnotify.Watcher
	done chan struct{}
	once sync.Once
}

func (w *watcher) close() {
	w.once.Do(func() {
		close(w.done)
		_ = w.w.Close()
	})
}

// watch watches the directories that hold certificate, key and CA files:
// files are often replaced by rename or symlink swap, which a watch on the
// file itself would miss.
func (t *Tunnel) watch() (*watcher, error) {
	dirs := map[string]bool{}
	files := map[string]bool{} // absolute paths of the watched files
	for _, l := range t.listeners {
		paths := []string{l.cfg.Cert, l.cfg.Key, l.cfg.CA, l.cfg.TargetCA}
		for _, p := range l.cfg.ExtraCerts {
			paths = append(paths, p.Cert, p.Key)
		}
		for _, f := range paths {
			if f != "" {
				if abs, err := filepath.Abs(f); err == nil {
					dirs[filepath.Dir(abs)] = true
					files[abs] = true
				}
			}
		}
	}
	if len(dirs) == 0 {
		return nil, nil
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	for d := range dirs {
		if err := fw.Add(d); err != nil {
			_ = fw.Close()
			return nil, err
		}
	}
	w := &watcher{w: fw, done: make(chan struct{})}
	go func() {
		var timer *time.Timer
		fire := make(chan struct{}, 1)
		for {
			select {
			case <-w.done:
				if timer != nil {
					timer.Stop()
				}
				return
			case ev, ok := <-fw.Events:
				if !ok {
					return
				}
				if ev.Op == fsnotify.Chmod || !relevant(ev.Name, files) {
					continue
				}
				if timer == nil {
					timer = time.AfterFunc(reloadDebounce, func() {
						select {
						case fire <- struct{}{}:
						default:
						}
					})
				} else {
					timer.Reset(reloadDebounce)
				}
			case <-fire:
				t.log.Info("tunnel: certificate files changed; reloading")
				_ = t.Reload()
			case err, ok := <-fw.Errors:
				if !ok {
					return
				}
				t.log.Warn("tunnel: file watch error", "error", err)
			}
		}
	}()
	return w, nil
}

// relevant reports whether an event in a watched directory concerns the
// certificate files: one of them (written in place, renamed over, or
// deleted), or a Kubernetes-style "..data" symlink swap.
func relevant(name string, files map[string]bool) bool {
	if abs, err := filepath.Abs(name); err == nil && files[abs] {
		return true
	}
	return strings.HasPrefix(filepath.Base(name), "..")
}
