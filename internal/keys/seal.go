package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
)

// MasterKeySize is the size in bytes of the AES-256 master key.
const MasterKeySize = 32

// nonceSize is the AES-GCM standard nonce size (NIST SP 800-38D).
const nonceSize = 12

// errOpen is returned by open when authentication fails: wrong master key,
// tampered ciphertext or ciphertext bound to another key.
var errOpen = errors.New("message authentication failed")

// keyAAD returns the additional authenticated data that binds a sealed private
// key to its kid and algorithm.
func keyAAD(kid, alg string) []byte {
	const prefix = "gatehouse signing key v1\x00"
	aad := make([]byte, 0, len(prefix)+len(alg)+1+len(kid))
	aad = append(aad, prefix...)
	aad = append(aad, alg...)
	aad = append(aad, 0)
	aad = append(aad, kid...)
	return aad
}

// newGCM returns an AES-256-GCM AEAD (NIST SP 800-38D) for key.
func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(key), MasterKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("create aes cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("create gcm: %w", err)
	}
	return aead, nil
}

// seal encrypts plaintext with AES-256-GCM under key and returns a random
// 12-byte nonce read from rand followed by the ciphertext and tag.
func seal(key []byte, rand io.Reader, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(rand, out); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, aad), nil
}

// open reverses seal. It returns errOpen when the key, the additional data or
// the ciphertext do not match.
func open(key, sealed, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < nonceSize+aead.Overhead() {
		return nil, fmt.Errorf("sealed key is %d bytes, too short: %w", len(sealed), errOpen)
	}
	plaintext, err := aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
	if err != nil {
		return nil, errOpen
	}
	return plaintext, nil
}
