package certload

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce groups the burst of events an editor or a Kubernetes secret
// update (a symlink swap of ..data) produces into one reload.
const Debounce = 200 * time.Millisecond

// Watcher calls a function when watched files change. Close stops it.
type Watcher struct {
	w    *fsnotify.Watcher
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// Close stops the watcher and waits for its goroutine.
func (w *Watcher) Close() error {
	var err error
	w.once.Do(func() {
		close(w.done)
		err = w.w.Close()
		w.wg.Wait()
	})
	return err
}

// WatchFiles calls changed (from one goroutine, Debounce after the last of
// a burst of events) when one of files is written, created, renamed over or
// removed, or when an entry named "..*" (a Kubernetes "..data" symlink swap)
// changes in a folder that holds one of them. It watches the folders, not
// the files, so replacements by rename and symlink swap are seen. Watch
// errors are logged on log (nil: discarded).
func WatchFiles(files []string, log *slog.Logger, changed func()) (*Watcher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dirs := map[string]bool{}
	abs := map[string]bool{}
	for _, f := range files {
		if f == "" {
			continue
		}
		a, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		abs[a] = true
		dirs[filepath.Dir(a)] = true
	}
	if len(dirs) == 0 {
		return nil, errors.New("certload: no file to watch")
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
	w := &Watcher{w: fw, done: make(chan struct{})}
	w.wg.Add(1)
	go w.loop(abs, log, changed)
	return w, nil
}

func (w *Watcher) loop(files map[string]bool, log *slog.Logger, changed func()) {
	defer w.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			if ev.Op != fsnotify.Chmod && relevant(ev.Name, files) {
				timer.Reset(Debounce)
			}
		case <-timer.C:
			changed()
		case err, ok := <-w.w.Errors:
			if !ok {
				return
			}
			log.Warn("certificate file watch error", "error", err)
		}
	}
}

// relevant reports whether an event in a watched folder concerns the
// files: one of them (written in place, renamed over, or deleted), or a
// Kubernetes-style "..data" symlink swap.
func relevant(name string, files map[string]bool) bool {
	if a, err := filepath.Abs(name); err == nil && files[a] {
		return true
	}
	return strings.HasPrefix(filepath.Base(name), "..")
}

// Watch reloads each of rs when its files change (see WatchFiles). A failed
// reload keeps the previous material; its error goes to onError (nil: it is
// logged on log as a warning), a success to log at Info.
func Watch(log *slog.Logger, onError func(error), rs ...Reloader) (*Watcher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var files []string
	for _, r := range rs {
		files = append(files, r.Files()...)
	}
	return WatchFiles(files, log, func() {
		for _, r := range rs {
			if err := r.Reload(); err != nil {
				if onError != nil {
					onError(err)
				} else {
					log.Warn("certificate reload failed; keeping the previous material", "files", r.Files(), "error", err)
				}
				continue
			}
			log.Info("certificate files reloaded", "files", r.Files())
		}
	})
}
