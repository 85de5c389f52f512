package keys

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// maxKeyFileSize bounds what LoadKeyFile reads: a key file holds one short
// line of text.
const maxKeyFileSize = 1024

// ParseMasterKey decodes a master key given as text: 32 bytes encoded as
// base64 (RFC 4648 §4 or the URL-safe alphabet of §5, padded or not) or as 64
// hexadecimal characters. Surrounding whitespace is ignored. The error never
// repeats the input, which is a secret.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("master key is empty: want 32 bytes as base64 or 64 hex characters")
	}
	if isHex(s) {
		if len(s) != 2*MasterKeySize {
			return nil, fmt.Errorf("master key looks like hex but has %d characters, want %d", len(s), 2*MasterKeySize)
		}
		return hex.DecodeString(s)
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != MasterKeySize {
			return nil, fmt.Errorf("master key decodes to %d bytes, want %d (base64 or 64 hex characters)", len(key), MasterKeySize)
		}
		return key, nil
	}
	return nil, fmt.Errorf("master key (%d characters) is neither base64 nor 64 hex characters: want %d bytes", len(s), MasterKeySize)
}

// isHex reports whether s consists of hexadecimal digits only.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// GenerateMasterKey returns a new random master key in its text form
// (standard base64, RFC 4648 §4), as ParseMasterKey accepts it.
func GenerateMasterKey(rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	key := make([]byte, MasterKeySize)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return "", fmt.Errorf("generate master key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

// LoadKeyFile reads a master key file in one of the text forms ParseMasterKey
// accepts. It refuses a file that group or others may access (mode & 0o077),
// as ssh does for private keys.
func LoadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat master key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("master key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits; os.FileMode there says nothing about ACLs.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("master key file %s is accessible by group or others (mode %04o): run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read master key file %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("master key file %s is larger than %d bytes", path, maxKeyFileSize)
	}
	key, err := ParseMasterKey(string(data))
	clear(data)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}

// CreateKeyFile creates a new master key file at path holding a random key as
// standard base64 and a newline, with mode 0600, and returns the key. It never
// overwrites: if path exists the error wraps fs.ErrExist.
func CreateKeyFile(path string, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	key := make([]byte, MasterKeySize)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create master key file %s: refusing to overwrite an existing file: %w", path, err)
		}
		return nil, fmt.Errorf("create master key file: %w", err)
	}
	text := base64.StdEncoding.EncodeToString(key) + "\n"
	_, err = io.WriteString(f, text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write master key file %s: %w", path, err)
	}
	return key, nil
}
