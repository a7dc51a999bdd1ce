package certload

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

// put writes data to path the way deploy tools do: a temporary file renamed
// over the old one.
func put(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// pair writes a fresh server certificate of ca as cert.pem/key.pem in dir.
func pair(t *testing.T, ca *testpki.CA, dir string) *testpki.Cert {
	t.Helper()
	c := ca.Server(t, testpki.CertOptions{})
	put(t, filepath.Join(dir, "cert.pem"), c.CertPEM)
	put(t, filepath.Join(dir, "key.pem"), c.KeyPEM)
	return c
}

func serial(c *tls.Certificate) string {
	if c == nil || c.Leaf == nil {
		return "<none>"
	}
	return c.Leaf.SerialNumber.String()
}

func TestLoadPool(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t)
	good := filepath.Join(dir, "ca.pem")
	put(t, good, ca.CertPEM)
	pool, err := LoadPool(good)
	if err != nil {
		t.Fatal(err)
	}
	leaf := ca.Server(t, testpki.CertOptions{})
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Fatalf("pool does not verify a leaf of its CA: %v", err)
	}

	empty := filepath.Join(dir, "empty.pem")
	put(t, empty, []byte("not a bundle\n"))
	if _, err := LoadPool(empty); !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("bundle without a certificate: %v, want ErrNoCertificate", err)
	}
	if _, err := LoadPool(filepath.Join(dir, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing bundle: %v, want a not-exist error", err)
	}
}

func TestLoadKeyPair(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t)
	c := pair(t, ca, dir)
	got, err := LoadKeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if serial(&got) != c.Leaf.SerialNumber.String() {
		t.Fatalf("Leaf %s, want %s", serial(&got), c.Leaf.SerialNumber)
	}
	other := ca.Server(t, testpki.CertOptions{})
	put(t, filepath.Join(dir, "key.pem"), other.KeyPEM)
	if _, err := LoadKeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")); err == nil {
		t.Fatal("a key of another certificate loaded")
	}
}

// Rotation, a bad file, and a certificate written before its key: the
// current pair changes only when the new pair loads in full.
func TestKeyPairReload(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t)
	first := pair(t, ca, dir)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	k, err := NewKeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	want := func(step string, c *testpki.Cert) {
		t.Helper()
		s := c.Leaf.SerialNumber.String()
		srv, _ := k.GetCertificate(nil)
		cli, _ := k.GetClientCertificate(nil)
		if serial(k.Certificate()) != s || serial(srv) != s || serial(cli) != s {
			t.Fatalf("%s: serving %s/%s/%s, want %s", step, serial(k.Certificate()), serial(srv), serial(cli), s)
		}
	}
	want("initial", first)

	second := pair(t, ca, dir)
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	want("after rotation", second)

	put(t, certFile, []byte("garbage"))
	if err := k.Reload(); err == nil {
		t.Fatal("Reload of a garbage certificate succeeded")
	}
	want("after a bad file", second)

	put(t, certFile, second.CertPEM[:len(second.CertPEM)/2])
	if err := k.Reload(); err == nil {
		t.Fatal("Reload of a certificate cut in half succeeded")
	}
	want("after a partial write", second)

	third := ca.Server(t, testpki.CertOptions{})
	put(t, certFile, third.CertPEM) // the key still belongs to second
	if err := k.Reload(); err == nil {
		t.Fatal("Reload of a new certificate with the old key succeeded")
	}
	want("certificate written before its key", second)
	put(t, keyFile, third.KeyPEM)
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	want("key written too", third)

	if _, err := NewKeyPair(filepath.Join(dir, "missing.pem"), keyFile); err == nil {
		t.Fatal("NewKeyPair of a missing file succeeded")
	}
}

// eventually waits (bounded) until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWatchReloadsOnRename(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t)
	pair(t, ca, dir)
	k, err := NewKeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 10)
	w, err := Watch(nil, func(err error) { errs <- err }, k)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	next := pair(t, ca, dir)
	eventually(t, "the renamed pair to be served", func() bool { return serial(k.Certificate()) == next.Leaf.SerialNumber.String() })

	// A bad certificate is reported and the pair stays.
	put(t, filepath.Join(dir, "cert.pem"), []byte("garbage"))
	select {
	case err := <-errs:
		if err == nil {
			t.Fatal("onError(nil)")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a failed reload was not reported")
	}
	if serial(k.Certificate()) != next.Leaf.SerialNumber.String() {
		t.Fatal("a failed reload replaced the pair")
	}
}

// Kubernetes mounts a secret as <dir>/tls.crt -> ..data/tls.crt, with
// ..data -> ..<timestamp>; an update writes a new ..<timestamp> folder and
// renames a new ..data symlink over the old one. The files' own paths never
// change.
func TestWatchKubernetesSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t)
	version := func(name string) *testpki.Cert {
		c := ca.Server(t, testpki.CertOptions{})
		ts := filepath.Join(dir, name)
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		put(t, filepath.Join(ts, "tls.crt"), c.CertPEM)
		put(t, filepath.Join(ts, "tls.key"), c.KeyPEM)
		put(t, filepath.Join(ts, "ca.crt"), ca.CertPEM)
		if err := os.Symlink(name, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := version("..2026_12_02_15_00_00.1")
	for _, f := range []string{"tls.crt", "tls.key", "ca.crt"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	k, err := NewKeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	if serial(k.Certificate()) != first.Leaf.SerialNumber.String() {
		t.Fatal("initial pair not loaded through the symlinks")
	}
	w, err := Watch(nil, func(err error) { t.Errorf("reload failed: %v", err) }, k)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	second := version("..2026_12_02_16_00_00.2")
	eventually(t, "the swapped pair to be served", func() bool { return serial(k.Certificate()) == second.Leaf.SerialNumber.String() })
}

func TestWatchFilesNeedsAFile(t *testing.T) {
	if _, err := WatchFiles([]string{""}, nil, func() {}); err == nil {
		t.Fatal("WatchFiles with no file succeeded")
	}
}
