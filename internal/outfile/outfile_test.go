package outfile

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func write(t *testing.T, path string, stdout io.Writer, data string) error {
	t.Helper()
	return WriteFile(path, stdout, func(w io.Writer) error {
		_, err := io.WriteString(w, data)
		return err
	})
}

func TestNewRegularFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	if err := write(t, p, nil, "hello\n"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "hello\n" {
		t.Fatalf("content %q, %v", b, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != NewFileMode {
		t.Fatalf("mode %v, want %v", st.Mode().Perm(), NewFileMode)
	}
	assertNoTemp(t, dir)
}

func TestReplaceKeepsModeAndAbortKeepsContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.csv")
	put(t, p, "old", 0o600)
	f, err := Create(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "half")
	f.Abort()
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("abort changed the file: %q", b)
	}
	if err := write(t, p, nil, "new"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(b) != "new" || st.Mode().Perm() != 0o600 {
		t.Fatalf("got %q mode %v, want new 0600", b, st.Mode().Perm())
	}
	assertNoTemp(t, dir)
}

func TestWriteErrorLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r")
	put(t, p, "old", 0o644)
	boom := errors.New("boom")
	err := WriteFile(p, nil, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("got %q", b)
	}
	assertNoTemp(t, dir)
}

func TestSymlinkToRegularReplacesTarget(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "reports")
	os.Mkdir(sub, 0o755)
	target := filepath.Join(sub, "real.json")
	put(t, target, "old", 0o640)
	link := filepath.Join(dir, "latest.json")
	if err := os.Symlink("reports/real.json", link); err != nil {
		t.Fatal(err)
	}
	if err := write(t, link, nil, "new"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(link)
	if err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link replaced: %v %v", st.Mode(), err)
	}
	b, _ := os.ReadFile(target)
	tst, _ := os.Stat(target)
	if string(b) != "new" || tst.Mode().Perm() != 0o640 {
		t.Fatalf("target %q mode %v", b, tst.Mode().Perm())
	}
	assertNoTemp(t, dir)
	assertNoTemp(t, sub)
}

func TestDanglingSymlinkCreatesTarget(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "l")
	os.Symlink("made.txt", link)
	if err := write(t, link, nil, "x"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "made.txt")); string(b) != "x" {
		t.Fatalf("got %q", b)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Fatal("link replaced")
	}
}

func TestStdout(t *testing.T) {
	var buf bytes.Buffer
	if err := write(t, "-", &buf, "to stdout"); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "to stdout" {
		t.Fatalf("got %q", buf.String())
	}
}

func TestDeviceWrittenInPlace(t *testing.T) {
	// /dev/null itself, and a symlink to it: neither is replaced.
	dir := t.TempDir()
	link := filepath.Join(dir, "null")
	os.Symlink("/dev/null", link)
	for _, p := range []string{"/dev/null", link} {
		if err := write(t, p, nil, "discard"); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	st, err := os.Stat("/dev/null")
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v %v", st.Mode(), err)
	}
	if lst, _ := os.Lstat(link); lst.Mode()&os.ModeSymlink == 0 {
		t.Fatal("symlink to /dev/null replaced")
	}
	assertNoTemp(t, dir)
}

func TestMknodDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "null")
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, int(1<<8|3)); err != nil {
		t.Skipf("mknod: %v", err)
	}
	if err := write(t, p, nil, "x"); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Lstat(p)
	if st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("device node replaced by %v", st.Mode())
	}
}

func TestFIFO(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	// No reader: an error at once, naming the FIFO.
	_, err := Create(p, nil)
	if err == nil || !strings.Contains(err.Error(), "FIFO with no reader") {
		t.Fatalf("no reader: %v", err)
	}
	// With a reader: written through, the FIFO stays a FIFO.
	r, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := write(t, p, nil, "through the pipe"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := r.Read(buf)
	if string(buf[:n]) != "through the pipe" {
		t.Fatalf("read %q", buf[:n])
	}
	if st, _ := os.Lstat(p); st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("FIFO replaced by %v", st.Mode())
	}
}

func TestRefused(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o500)
	cases := map[string]struct{ path, want string }{
		"directory":   {dir, "is a directory"},
		"missing dir": {filepath.Join(dir, "nope", "out.json"), "does not exist"},
		"socket":      {sock, "is a socket"},
		"empty":       {"", "empty"},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		cases["read-only dir"] = struct{ path, want string }{filepath.Join(ro, "out"), "cannot write"}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := Create(c.path, nil)
			if err == nil {
				f.Abort()
				t.Fatalf("Create(%q) succeeded", c.path)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
		})
	}
	assertNoTemp(t, dir)
}

func TestCommitTwice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	f, err := Create(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("second Commit succeeded")
	}
	f.Abort() // no effect
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Abort after Commit removed the file: %v", err)
	}
}

// put writes data to path with mode, failing the test on an error.
func put(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}
