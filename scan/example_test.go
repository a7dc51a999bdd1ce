package scan_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pqtls/pqtls/scan"
)

// ExampleScanOne probes one endpoint the way the exporter and the demo do.
func ExampleScanOne() {
	t, err := scan.ParseEndpoint("postgres://db.internal:5432")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := scan.ScanOne(context.Background(), t, scan.Options{Enumerate: true, Timeout: 3 * time.Second})
	if err != nil {
		fmt.Println(err) // canceled context or invalid target only
		return
	}
	fmt.Println(res.Verdict, res.Reason, res.GroupNames(), res.Connections)
}
