package secret

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// Prefix starts every secret gatehouse generates, so that secret scanners can
// recognise a leaked one ("gths" for gatehouse secret).
const Prefix = "gths_"

// Generate returns a new client secret: Prefix followed by 256 random bits in
// unpadded base64url, and its SHA-256 digest and non-secret hint.
func Generate(rand io.Reader) (plain string, digest []byte, hint string, err error) {
	var b [32]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", nil, "", fmt.Errorf("read randomness: %w", err)
	}
	plain = Prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return plain, Digest(plain), Hint(plain), nil
}

// Digest is the stored form of a generated secret.
func Digest(plain string) []byte {
	d := sha256.Sum256([]byte(plain))
	return d[:]
}

// Hint is the short, non-secret reminder of a secret shown in listings: the
// prefix and the last four characters.
func Hint(plain string) string {
	if len(plain) < 12 {
		return "…"
	}
	p := ""
	if strings.HasPrefix(plain, Prefix) {
		p = Prefix
	}
	return p + "…" + plain[len(plain)-4:]
}

// Equal compares two digests in constant time.
func Equal(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// ID returns prefix followed by n random alphanumeric characters, drawn
// without modulo bias.
func ID(rand io.Reader, prefix string, n int) (string, error) {
	out := make([]byte, 0, len(prefix)+n)
	out = append(out, prefix...)
	var buf [64]byte
	for len(out) < len(prefix)+n {
		if _, err := io.ReadFull(rand, buf[:]); err != nil {
			return "", fmt.Errorf("read randomness: %w", err)
		}
		for _, c := range buf {
			if c >= 248 { // 248 = 4*62: reject to keep the draw uniform
				continue
			}
			out = append(out, alnum[int(c)%len(alnum)])
			if len(out) == len(prefix)+n {
				break
			}
		}
	}
	return string(out), nil
}

// ClientID returns a new client identifier: 32 alphanumeric characters, as
// Auth0's are.
func ClientID(rand io.Reader) (string, error) { return ID(rand, "", 32) }
