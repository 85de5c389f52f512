package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters (RFC 9106 §3.1).
type Params struct {
	Time      uint32 // passes over memory (t)
	MemoryKiB uint32 // memory size in KiB (m)
	Threads   uint8  // degree of parallelism (p)
	SaltLen   int    // bytes of random salt
	KeyLen    int    // bytes of tag
}

// RFC9106Params is the second recommended option of RFC 9106 §4, for
// environments where 2 GiB per hash is too much: argon2id with t=3 passes,
// p=4 lanes, 64 MiB of memory, a 128-bit salt and a 256-bit tag.
var RFC9106Params = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 4, SaltLen: 16, KeyLen: 32}

// Bounds on the parameters of a stored hash, so that a corrupt or hostile
// hash cannot make Verify allocate without limit.
const (
	maxMemoryKiB = 4 * 1024 * 1024 // 4 GiB
	maxTime      = 64
	maxKeyLen    = 128
)

// MaxPasswordLen bounds what is hashed: a longer "password" is refused
// before argon2 sees it.
const MaxPasswordLen = 1024

// ErrMalformedHash is returned for a stored hash that is not an argon2id PHC
// string this package can verify.
var ErrMalformedHash = errors.New("malformed argon2id hash")

// Hasher hashes and verifies passwords with argon2id. The zero value uses
// RFC9106Params and crypto/rand.
type Hasher struct {
	Params Params    // zero: RFC9106Params
	Rand   io.Reader // salt source; nil: crypto/rand
}

func (h Hasher) params() Params {
	if h.Params == (Params{}) {
		return RFC9106Params
	}
	return h.Params
}

// Hash returns the argon2id hash of password as a PHC string:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>, salt and tag in
// unpadded standard base64 (the reference implementation's encoding).
func (h Hasher) Hash(password string) (string, error) {
	if len(password) > MaxPasswordLen {
		return "", fmt.Errorf("password is longer than %d bytes", MaxPasswordLen)
	}
	p := h.params()
	r := h.Rand
	if r == nil {
		r = rand.Reader
	}
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	tag := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(p.KeyLen))
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(tag)), nil
}

// Verify reports whether password matches the PHC string hash, computing
// argon2id with the parameters stored in hash and comparing the tags in
// constant time. A hash it cannot parse is ErrMalformedHash.
func (h Hasher) Verify(hash, password string) (bool, error) {
	p, salt, tag, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(tag)))
	return subtle.ConstantTimeCompare(got, tag) == 1, nil
}

// parsePHC splits an argon2id PHC string into its parameters, salt and tag.
func parsePHC(hash string) (Params, []byte, []byte, error) {
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, tag
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, fmt.Errorf("%w: not $argon2id$v=..$m=..,t=..,p=..$salt$tag", ErrMalformedHash)
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, fmt.Errorf("%w: version %q is not v=%d", ErrMalformedHash, parts[2], argon2.Version)
	}
	var p Params
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &threads); err != nil || n != 3 {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters %q", ErrMalformedHash, parts[3])
	}
	if p.Time < 1 || p.Time > maxTime || threads < 1 || threads > 255 ||
		p.MemoryKiB < 8*threads || p.MemoryKiB > maxMemoryKiB {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters %q out of range", ErrMalformedHash, parts[3])
	}
	p.Threads = uint8(threads)
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, fmt.Errorf("%w: salt", ErrMalformedHash)
	}
	tag, err := b64.DecodeString(parts[5])
	if err != nil || len(tag) < 16 || len(tag) > maxKeyLen {
		return Params{}, nil, nil, fmt.Errorf("%w: tag", ErrMalformedHash)
	}
	p.SaltLen, p.KeyLen = len(salt), len(tag)
	return p, salt, tag, nil
}
