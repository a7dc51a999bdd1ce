// Package outfile is the one way pqtls commands write an output file (-o,
// lint --fix, baselines). It never destroys what the path names:
//
//   - "-" is standard output;
//   - a character or block device (/dev/null, a terminal) is written in place;
//   - a FIFO is opened without blocking: with no reader the command fails at
//     once instead of hanging;
//   - a regular file is replaced atomically (temporary file in the same
//     directory, synced, renamed), keeping its mode and owner, so a failed
//     run leaves the old content;
//   - a symlink is followed: to a device or FIFO as above, to a regular file
//     (or a missing file in an existing directory) by replacing the target
//     atomically, never the link itself;
//   - a directory, a socket or a path in a missing or unwritable directory is
//     an error before any work.
//
// Create does every check that can fail before the command starts its real
// work, so its error is a usage or I/O error (exit 2) with nothing lost.
package outfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// NewFileMode is the mode of an output file that did not exist before.
const NewFileMode fs.FileMode = 0o644

// File is an output opened by Create. Write to it, then Commit; Abort throws
// the output away (a regular file keeps its old content).
type File struct {
	path   string
	w      *bufio.Writer
	f      *os.File // nil for stdout
	tmp    string   // temporary file renamed over final on Commit ("" = written in place)
	final  string   // the regular file a Commit replaces
	closed bool
}

// Create opens path for writing; stdout serves "-". The returned error names
// the path and says what to do.
func Create(path string, stdout io.Writer) (*File, error) {
	if path == "" {
		return nil, errors.New("output path is empty: give a file name, or - for standard output")
	}
	if path == "-" {
		return &File{path: path, w: bufio.NewWriter(stdout)}, nil
	}
	target := path
	st, err := os.Lstat(path)
	if err == nil && st.Mode()&fs.ModeSymlink != 0 {
		target, err = resolveLink(path)
		if err != nil {
			return nil, err
		}
		st, err = os.Stat(target)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createTemp(path, target, nil)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m := st.Mode()
	switch {
	case m.IsRegular():
		return createTemp(path, target, st)
	case m.IsDir():
		return nil, fmt.Errorf("%s is a directory: give a file name inside it", path)
	case m&fs.ModeNamedPipe != 0:
		f, err := os.OpenFile(target, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if errors.Is(err, syscall.ENXIO) {
			return nil, fmt.Errorf("%s is a FIFO with no reader: start the reader first (e.g. cat %s) or write to a file", path, path)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &File{path: path, f: f, w: bufio.NewWriter(f)}, nil
	case m&fs.ModeDevice != 0:
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &File{path: path, f: f, w: bufio.NewWriter(f)}, nil
	default:
		return nil, fmt.Errorf("%s is a %s, not a file: give a file name, a device or -", path, kind(m))
	}
}

// resolveLink returns what a symlink finally names. A dangling link names a
// file to create, if its directory exists.
func resolveLink(path string) (string, error) {
	if t, err := filepath.EvalSymlinks(path); err == nil {
		return t, nil
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		// A link only the kernel follows (/proc/self/fd/1 to a pipe or
		// socket): open it through the link.
		return path, nil
	}
	// Dangling: follow the chain by hand up to a bounded depth.
	cur := path
	for range 40 {
		st, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return cur, nil
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return cur, nil
		}
		next, err := os.Readlink(cur)
		if err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		if !filepath.IsAbs(next) {
			next = filepath.Join(filepath.Dir(cur), next)
		}
		cur = next
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}

func kind(m fs.FileMode) string {
	if m&fs.ModeSocket != 0 {
		return "socket"
	}
	return "special file"
}

// createTemp opens a temporary file next to target; old, if not nil, is the
// file it will replace, whose mode and owner it takes.
func createTemp(path, target string, old fs.FileInfo) (*File, error) {
	dir := filepath.Dir(target)
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: directory %s does not exist: create it or give another path", path, dir)
		}
		return nil, fmt.Errorf("%s: cannot write in %s (%v): give a path in a writable directory", path, dir, unwrapPath(err))
	}
	mode := NewFileMode
	if old != nil {
		mode = old.Mode().Perm()
		if sys, ok := old.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			// Root replacing someone's file keeps it theirs.
			if err := f.Chown(int(sys.Uid), int(sys.Gid)); err != nil {
				f.Close()
				os.Remove(f.Name())
				return nil, fmt.Errorf("%s: keeping the owner: %w", path, err)
			}
		}
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{path: path, f: f, w: bufio.NewWriterSize(f, 64<<10), tmp: f.Name(), final: target}, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Path is the path given to Create.
func (f *File) Path() string { return f.path }

// Write buffers p for the output.
func (f *File) Write(p []byte) (int, error) {
	if f.closed {
		return 0, fmt.Errorf("%s: write after close", f.path)
	}
	return f.w.Write(p)
}

// Flush writes buffered data through to the file, device or stream (for
// outputs that are read while the command runs).
func (f *File) Flush() error {
	if err := f.w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	return nil
}

// Commit finishes the output: flushes, and for a regular file syncs it and
// renames it into place. After Commit, Abort does nothing.
func (f *File) Commit() error {
	if f.closed {
		return fmt.Errorf("%s: already closed", f.path)
	}
	f.closed = true
	err := f.w.Flush()
	if f.f == nil { // stdout: the caller owns it
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.path, err)
		}
		return nil
	}
	if err == nil && f.tmp != "" {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if f.tmp != "" {
			os.Remove(f.tmp)
		}
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	if f.tmp != "" {
		if err := os.Rename(f.tmp, f.final); err != nil {
			os.Remove(f.tmp)
			return fmt.Errorf("writing %s: %w", f.path, err)
		}
	}
	return nil
}

// Abort discards the output: the temporary file is removed and a replaced
// file keeps its old content. Data already written to a device, FIFO or
// stdout cannot be taken back. Abort after Commit does nothing.
func (f *File) Abort() {
	if f.closed {
		return
	}
	f.closed = true
	if f.f == nil {
		return
	}
	f.f.Close()
	if f.tmp != "" {
		os.Remove(f.tmp)
	}
}

// WriteFile creates path, runs write on it and commits; on any error the
// output is aborted.
func WriteFile(path string, stdout io.Writer, write func(w io.Writer) error) error {
	f, err := Create(path, stdout)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}
