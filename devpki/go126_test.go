//go:build !go1.27

package devpki

const mldsaBuild = false
