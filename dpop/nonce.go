package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// DefaultNonceWindow is how often a [Nonces] changes its nonce.
const DefaultNonceWindow = 5 * time.Minute

// Nonces issues and checks server nonces (RFC 9449 §8, §9) without state:
// the nonce of a time window is the window's number and an HMAC-SHA256 of
// it under a key, so every instance that holds the same key issues the same
// nonce and accepts the others'. A nonce is accepted during its window and
// the next, so it is good for one to two windows.
type Nonces struct {
	key    []byte
	window time.Duration
}

// NewNonces returns a nonce source keyed with key (at least 32 bytes, a
// secret every instance shares, e.g. derived from a master key) whose nonce
// changes every window (default DefaultNonceWindow).
func NewNonces(key []byte, window time.Duration) (*Nonces, error) {
	if len(key) < 32 {
		return nil, errors.New("dpop: the nonce key must be at least 32 bytes")
	}
	if window <= 0 {
		window = DefaultNonceWindow
	}
	return &Nonces{key: append([]byte(nil), key...), window: window}, nil
}

func (n *Nonces) index(now time.Time) uint64 { return uint64(now.UnixNano() / int64(n.window)) }

func (n *Nonces) make(i uint64) string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], i)
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte("gatehouse dpop nonce"))
	m.Write(b[:8])
	copy(b[8:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Current returns the nonce to hand out at now.
func (n *Nonces) Current(now time.Time) string { return n.make(n.index(now)) }

// Valid reports whether nonce is the nonce of now's window or of the one
// before.
func (n *Nonces) Valid(nonce string, now time.Time) bool {
	if len(nonce) != 32 { // 24 bytes, base64url
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 24 {
		return false
	}
	i, cur := binary.BigEndian.Uint64(raw[:8]), n.index(now)
	if i != cur && i+1 != cur {
		return false
	}
	return hmac.Equal([]byte(n.make(i)), []byte(nonce))
}
