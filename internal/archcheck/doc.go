// Package archcheck holds the tests that keep pqtls's package structure as
// docs/ARCHITECTURE.md describes it: which package may import which, and the
// size limit for functions. It has no code of its own.
package archcheck
