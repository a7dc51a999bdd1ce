package starttls

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzStartTLS feeds arbitrary server bytes to every preamble parser: no
// panic and no hang (the server closes after its bytes).
func FuzzStartTLS(f *testing.F) {
	f.Add(uint8(0), []byte("S"))
	f.Add(uint8(1), []byte("220 hi\r\n250-x\r\n250 STARTTLS\r\n220 go\r\n"))
	f.Add(uint8(2), []byte("* OK hi\r\na OK go\r\n"))
	f.Add(uint8(3), []byte("+OK\r\n+OK\r\n"))
	f.Add(uint8(4), []byte("220 ftp\r\n234 ok\r\n"))
	f.Add(uint8(5), []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00})
	f.Add(uint8(6), []byte("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features><proceed/>"))
	f.Add(uint8(7), []byte{0x4a, 0, 0, 0, 10, '8', 0, 1, 0, 0, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 0, 0xff, 0xff})
	f.Add(uint8(5), []byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	protos := []Protocol{Postgres, SMTP, IMAP, POP3, FTP, LDAP, XMPP, MySQL}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		p := protos[int(which)%len(protos)]
		client, server := net.Pipe()
		defer client.Close()
		go func() {
			defer server.Close()
			go io.Copy(io.Discard, server)
			server.Write(data)
		}()
		client.SetDeadline(time.Now().Add(2 * time.Second))
		done := make(chan error, 1)
		go func() { _, _, err := Negotiate(context.Background(), client, p, "localhost"); done <- err }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s preamble hung on %q", p, data)
		}
	})
}
