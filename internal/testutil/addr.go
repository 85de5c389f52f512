package testutil

import (
	"net"
	"sync/atomic"
	"testing"
)

// FreeAddr returns a loopback host:port that was free a moment ago, for a
// server a test starts in another process.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// CountingListener listens on a loopback port until the test ends, closing
// every connection it accepts, and counts them: a test that some client
// must never dial an address (a server-side request forgery guard) checks
// that the count stays 0.
func CountingListener(t testing.TB) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), accepted
}
