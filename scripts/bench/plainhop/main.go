// Command plainhop is the plaintext floor of scripts/bench/tunnel.sh: a
// second process that copies bytes between a client and a target the way
// the tunnel's copy loop does (64 KiB read, one write; half-close
// propagated), without TLS. It measures what the extra hop costs on its
// own. Loopback benchmarking only.
//
//	plainhop -listen 127.0.0.1:9001 -target 127.0.0.1:9000
package main

import (
	"flag"
	"log"
	"net"
	"time"
)

const idle = 60 * time.Second

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "host:port to accept on")
	target := flag.String("target", "", "host:port to copy to")
	maxConns := flag.Int("max-connections", 20000, "connection cap")
	flag.Parse()
	if *target == "" {
		log.Fatal("plainhop: -target is required")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	slots := make(chan struct{}, *maxConns)
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		select {
		case slots <- struct{}{}:
		default:
			c.Close()
			continue
		}
		go func() {
			defer func() { <-slots }()
			serve(c.(*net.TCPConn), *target)
		}()
	}
}

func serve(c *net.TCPConn, target string) {
	defer c.Close()
	b, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	defer b.Close()
	done := make(chan struct{})
	go func() { copyHalf(b.(*net.TCPConn), c); close(done) }()
	copyHalf(c, b.(*net.TCPConn))
	<-done
}

// copyHalf copies src to dst with a plain read/write loop (no splice), then
// propagates the half-close.
func copyHalf(dst, src *net.TCPConn) {
	buf := make([]byte, 64<<10)
	for {
		_ = src.SetReadDeadline(time.Now().Add(idle))
		n, err := src.Read(buf)
		if n > 0 {
			_ = dst.SetWriteDeadline(time.Now().Add(idle))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			_ = dst.CloseWrite()
			return
		}
	}
}
