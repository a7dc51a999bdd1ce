package testpeer

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BlackboxPeer is Debian's prometheus-blackbox-exporter serving on
// 127.0.0.1 (an independent prober to hold the pqtls exporter's verdicts
// against).
type BlackboxPeer struct {
	Addr string
	Proc *Proc
}

// Blackbox starts blackbox_exporter with config (the YAML of its modules
// file) and waits until it answers /-/healthy.
func Blackbox(tb testing.TB, config string) *BlackboxPeer {
	tb.Helper()
	Require(tb, PeerBlackbox)
	bin, _ := Find(PeerBlackbox)
	dir := tb.TempDir()
	conf := filepath.Join(dir, "blackbox.yml")
	if err := os.WriteFile(conf, []byte(config), 0o644); err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	port, proc := startOnFreePort(tb, func(port int) *Proc {
		return start(tb, "blackbox_exporter", procOptions{dir: dir}, bin,
			"--config.file="+conf, "--web.listen-address="+hostPort(port), "--log.level=warn")
	}, func(port int, proc *Proc) error {
		return waitHTTP200(proc, "http://"+hostPort(port)+"/-/healthy", config)
	})
	return &BlackboxPeer{Addr: hostPort(port), Proc: proc}
}

// Probe runs /probe for target with module and returns the exposition
// text; an HTTP status other than 200 fails the test.
func (b *BlackboxPeer) Probe(tb testing.TB, module, target string) string {
	tb.Helper()
	q := url.Values{"module": {module}, "target": {target}}
	code, body, err := httpGet("http://"+b.Addr+"/probe?"+q.Encode(), 30*time.Second)
	if err != nil || code != 200 {
		tb.Fatalf("testpeer: blackbox_exporter /probe %s %s: HTTP %d, %v: %s", module, target, code, err, body)
	}
	return string(body)
}
