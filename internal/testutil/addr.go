package testutil

import (
	"net"
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
