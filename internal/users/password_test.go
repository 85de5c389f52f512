package users

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// cheap keeps the unit tests fast; TestDefaultParams checks the real cost.
var cheap = Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h := Hasher{Params: cheap}
	hash, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q is not an argon2id PHC string with the parameters", hash)
	}
	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"right", "correct horse battery staple", true},
		{"wrong", "correct horse battery stapler", false},
		{"case", "Correct horse battery staple", false},
		{"empty", "", false},
		{"too long", strings.Repeat("a", MaxPasswordLen+1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := h.Verify(hash, tc.password)
			if err != nil || ok != tc.want {
				t.Errorf("Verify = %v, %v; want %v", ok, err, tc.want)
			}
		})
	}
	// Verify reads the parameters from the hash, not from the Hasher.
	if ok, err := (Hasher{}).Verify(hash, "correct horse battery staple"); err != nil || !ok {
		t.Errorf("Verify with other Hasher params = %v, %v; want true", ok, err)
	}
}

func TestSaltsDiffer(t *testing.T) {
	h := Hasher{Params: cheap}
	a, _ := h.Hash("pw")
	b, _ := h.Hash("pw")
	if a == b {
		t.Errorf("two hashes of one password are equal (%s): the salt is not random", a)
	}
}

// TestKnownAnswer checks hash and verify against hashes made by the
// reference implementation (libargon2, argon2id_hash_encoded), so that
// hashes made elsewhere (exports from another server) verify and ours
// verify elsewhere.
func TestKnownAnswer(t *testing.T) {
	tests := []struct {
		params Params
		want   string
	}{
		{Params{Time: 2, MemoryKiB: 64, Threads: 1, SaltLen: 8, KeyLen: 16},
			"$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$CpahY97MNWo2uyGWQjji4g"},
		{Params{Time: 3, MemoryKiB: 65536, Threads: 4, SaltLen: 8, KeyLen: 32},
			"$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$Zh/vvW8pvLyPRkarwyqdekZFu1wFlTf4pVh/Ma2+zM0"},
	}
	for _, tc := range tests {
		h := Hasher{Params: tc.params, Rand: bytes.NewReader([]byte("somesalt"))}
		hash, err := h.Hash("password")
		if err != nil {
			t.Fatal(err)
		}
		if hash != tc.want {
			t.Errorf("Hash = %s, want %s", hash, tc.want)
		}
		if ok, err := (Hasher{}).Verify(tc.want, "password"); !ok || err != nil {
			t.Errorf("Verify(%s) = %v, %v; want true", tc.want, ok, err)
		}
	}
}

func TestDefaultParams(t *testing.T) {
	hash, err := Hasher{}.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("default hash %q does not use the RFC 9106 second recommended option", hash)
	}
	if ok, err := (Hasher{}).Verify(hash, "pw"); !ok || err != nil {
		t.Errorf("Verify = %v, %v", ok, err)
	}
}

func TestMalformedHash(t *testing.T) {
	good, _ := Hasher{Params: cheap}.Hash("pw")
	parts := strings.Split(good, "$")
	join := func(p ...string) string { return strings.Join(p, "$") }
	tests := map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$abcdefghijklmnopqrstuv",
		"argon2i":        join("", "argon2i", parts[2], parts[3], parts[4], parts[5]),
		"old version":    join("", "argon2id", "v=16", parts[3], parts[4], parts[5]),
		"no params":      join("", "argon2id", parts[2], "", parts[4], parts[5]),
		"huge memory":    join("", "argon2id", parts[2], "m=999999999,t=1,p=1", parts[4], parts[5]),
		"zero time":      join("", "argon2id", parts[2], "m=64,t=0,p=1", parts[4], parts[5]),
		"bad salt":       join("", "argon2id", parts[2], parts[3], "!!", parts[5]),
		"short tag":      join("", "argon2id", parts[2], parts[3], parts[4], "AAAA"),
		"extra field":    good + "$x",
		"plain password": "pw",
	}
	for name, hash := range tests {
		t.Run(name, func(t *testing.T) {
			ok, err := Hasher{}.Verify(hash, "pw")
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformedHash", hash, ok, err)
			}
		})
	}
}

func TestHashTooLong(t *testing.T) {
	if _, err := (Hasher{Params: cheap}).Hash(strings.Repeat("x", MaxPasswordLen+1)); err == nil {
		t.Error("Hash of an over-long password succeeded")
	}
}
