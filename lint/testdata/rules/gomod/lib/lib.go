// Package tlsutil is a library.
package tlsutil
