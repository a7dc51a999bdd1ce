package wire_test

import (
	"bytes"
	"crypto/tls"
	"fmt"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/wire"
)

// Build a hybrid ClientHello the way a browser does (X25519MLKEM768 and
// X25519 shares), split it over two records, and parse it back as a passive
// observer would.
func ExampleClientHello_MarshalRecords() {
	ch := wire.NewClientHello13("db.internal.example")
	ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}
	shares, err := wire.GenerateKeyShares(tls.X25519MLKEM768, tls.X25519)
	if err != nil {
		panic(err)
	}
	ch.KeyShares = shares
	ch.ALPN = []string{"postgresql"}
	records, err := ch.MarshalRecords(1000) // 1000 bytes in the first record, the rest in a second
	if err != nil {
		panic(err)
	}

	r := wire.NewReader(bytes.NewReader(records))
	msg, err := r.ReadMessage()
	if err != nil {
		panic(err)
	}
	got, err := wire.ParseClientHello(msg.Data)
	if err != nil {
		panic(err)
	}
	fmt.Println("records:", msg.Records, "SNI:", got.ServerName, "ALPN:", got.ALPN)
	for _, ks := range got.KeyShares {
		fmt.Printf("key share %s: %d bytes\n", pqtls.GroupName(ks.Group), len(ks.Data))
	}
	// Output:
	// records: 2 SNI: db.internal.example ALPN: [postgresql]
	// key share X25519MLKEM768: 1216 bytes
	// key share x25519: 32 bytes
}
