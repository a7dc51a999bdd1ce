package main

import (
	"fmt"
	"testing"

	"github.com/pqtls/pqtls/internal/testpeer"
)

// The closed loop of issue 18 item 5 for PQ452: the Debian 13 tree's
// redis-server (OpenSSL 3.5) with tls-protocols "TLSv1.2" scans
// tls12_only; pqtls lint --fix adds TLSv1.3, and the same server started
// with the fixed redis.conf scans pq_ready with X25519MLKEM768. The rows
// join TestInteropLintLoopDebian13's table.
func init() {
	lintLoopCases = append(lintLoopCases,
		lintLoopCase{name: "redis-tls-protocols", rule: "PQ452", file: "redis.conf", before: "tls12_only",
			conf: redisLoopConf(`tls-protocols "TLSv1.2"`), start: redisLoopStart},
		lintLoopCase{name: "redis-tls-protocols-unquoted", rule: "PQ452", file: "redis.conf", before: "tls12_only",
			conf: redisLoopConf(`tls-protocols TLSv1.2`), start: redisLoopStart})
}

// redisLoopConf is a TLS-only redis.conf (no client certificates) with
// the protocols line.
func redisLoopConf(protocols string) func(dir string, port int) string {
	return func(dir string, port int) string {
		return fmt.Sprintf("bind 127.0.0.1\nport 0\ntls-port %d\ntls-cert-file %s/cert.pem\ntls-key-file %s/key.pem\ntls-auth-clients no\n%s\n"+
			"dir %s\nsave \"\"\nappendonly no\ndaemonize no\nprotected-mode no\nlogfile \"\"\n", port, dir, dir, protocols, dir)
	}
}

func redisLoopStart(t *testing.T, d *testpeer.Debian13, conf, _ string, _ int) *testpeer.Proc {
	return d.Start(t, "redis-server", "/usr/bin/redis-server", conf)
}
