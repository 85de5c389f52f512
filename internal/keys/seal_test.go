package keys

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, MasterKeySize)
	otherKey := bytes.Repeat([]byte{8}, MasterKeySize)
	plaintext := []byte("pkcs8 der bytes")
	aad := keyAAD("kid-1", RS256)
	sealed, err := seal(key, rand.Reader, plaintext, aad)
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	if len(sealed) != nonceSize+len(plaintext)+16 {
		t.Errorf("sealed length %d, want nonce+plaintext+tag = %d", len(sealed), nonceSize+len(plaintext)+16)
	}
	if bytes.Contains(sealed, plaintext) {
		t.Error("sealed output contains the plaintext")
	}
	got, err := open(key, sealed, aad)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if !bytes.Equal(got, plaintext) {
		t.Fatalf("open = %q, want %q", got, plaintext)
	}
	again, err := seal(key, rand.Reader, plaintext, aad)
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	if bytes.Equal(again[:nonceSize], sealed[:nonceSize]) {
		t.Error("two seals used the same nonce")
	}

	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name   string
		key    []byte
		sealed []byte
		aad    []byte
		isOpen bool // want errOpen
	}{
		{"tampered ciphertext", key, flip(nonceSize + 1), aad, true},
		{"tampered nonce", key, flip(0), aad, true},
		{"tampered tag", key, flip(len(sealed) - 1), aad, true},
		{"wrong master key", otherKey, sealed, aad, true},
		{"other kid", key, sealed, keyAAD("kid-2", RS256), true},
		{"other alg", key, sealed, keyAAD("kid-1", PS256), true},
		{"no aad", key, sealed, nil, true},
		{"truncated", key, sealed[:nonceSize+15], aad, true},
		{"empty", key, nil, aad, true},
		{"short master key", key[:16], sealed, aad, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := open(tt.key, tt.sealed, tt.aad)
			if err == nil {
				t.Fatalf("open succeeded with %q", got)
			}
			if errors.Is(err, errOpen) != tt.isOpen {
				t.Errorf("open error %v: errors.Is(errOpen) = %v, want %v", err, !tt.isOpen, tt.isOpen)
			}
		})
	}
}

func TestSealRandFailure(t *testing.T) {
	key := bytes.Repeat([]byte{7}, MasterKeySize)
	if _, err := seal(key, bytes.NewReader(make([]byte, 5)), []byte("x"), nil); err == nil {
		t.Fatal("seal with a short random source succeeded")
	}
}
