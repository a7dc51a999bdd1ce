package observe_test

import (
	"context"
	"fmt"

	"github.com/pqtls/pqtls/observe"
)

// Read a capture and print every TLS flow's server name and outcome.
func ExampleReadFile() {
	a := observe.NewAnalyzer(observe.Options{}, func(f *observe.Flow) {
		fmt.Println(f.SNI, f.Outcome, f.SelectedGroup)
	})
	if err := observe.ReadFile(context.Background(), "testdata/interop.pcap", observe.FileOptions{}, a); err != nil {
		fmt.Println(err)
		return
	}
	a.Flush() // decide the flows still open at the end of the capture
	// Output:
	// hybrid.test hybrid X25519MLKEM768
	// localhost hybrid X25519MLKEM768
	// localhost hybrid X25519MLKEM768
	// nginx.test classical x25519
	// tls12.test tls12 x25519
	// hrr.test hybrid X25519MLKEM768
	// reset.test failed
}
