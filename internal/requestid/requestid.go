package requestid

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/secret"
)

// Header is the request and response header that carries the ID.
const Header = "X-Request-Id"

// MaxLen is the longest incoming ID that is kept.
const MaxLen = 128

// Sane reports whether an incoming ID may be kept: 1 to MaxLen printable
// ASCII characters, no spaces (so it cannot forge fields in a text log line
// nor carry control characters into a terminal), and nothing that looks like
// a gatehouse client secret or a JWT (the ID is logged; a caller that pastes
// a credential into the wrong header must not put it in the log).
func Sane(id string) bool {
	if id == "" || len(id) > MaxLen || strings.HasPrefix(id, secret.Prefix) || strings.HasPrefix(id, "eyJ") {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

var enc = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// New returns a fresh ID: 80 random bits read from rnd (crypto/rand when
// nil), as 16 lowercase base32hex characters.
func New(rnd io.Reader) string {
	var b [10]byte
	if rnd == nil {
		// crypto/rand.Read never fails (Go 1.24+) and keeps b on the stack.
		_, _ = rand.Read(b[:])
	} else if !readFull(rnd, b[:]) {
		// A broken injected reader yields a constant rather than no ID.
		return "0000000000000000"
	}
	var out [16]byte
	enc.Encode(out[:], b[:])
	return string(out[:])
}

// readFull fills b from rnd through a buffer of its own: handing b to an
// io.Reader would move it to the heap on every call, crypto/rand's too.
func readFull(rnd io.Reader, b []byte) bool {
	buf := make([]byte, len(b))
	if _, err := io.ReadFull(rnd, buf); err != nil {
		return false
	}
	copy(b, buf)
	return true
}

// FromHeader returns the incoming ID if it is sane, else a new one.
func FromHeader(incoming string, rnd io.Reader) string {
	if Sane(incoming) {
		return incoming
	}
	return New(rnd)
}

type ctxKey struct{}

// ContextKey is the context key under which the request ID is stored, for a
// context implementation that carries it along other values (the server's
// middleware does, to allocate one context per request); read it with
// FromContext.
var ContextKey any = ctxKey{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ContextKey, id)
}

// FromContext returns the request ID stored in ctx (a string, or a *string
// that a context answers without allocating), or "".
func FromContext(ctx context.Context) string {
	switch id := ctx.Value(ContextKey).(type) {
	case string:
		return id
	case *string:
		return *id
	}
	return ""
}
