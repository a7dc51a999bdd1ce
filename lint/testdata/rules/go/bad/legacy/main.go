//go:debug default=go1.22

// Command legacy keeps the Go 1.22 behaviour for an old HSM client.
package main

import "fmt"

func main() { fmt.Println("legacy") }
