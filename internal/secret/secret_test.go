package secret

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	plain, digest, hint, err := Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, Prefix) {
		t.Fatalf("secret %q lacks prefix", plain[:5])
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(plain, Prefix))
	if err != nil || len(raw) != 32 {
		t.Fatalf("secret body is not 256 bits of base64url: %v, %d bytes", err, len(raw))
	}
	if !Equal(digest, Digest(plain)) || Equal(digest, Digest(plain+"x")) {
		t.Fatal("digest does not identify the secret")
	}
	if want := Prefix + "…" + plain[len(plain)-4:]; hint != want {
		t.Fatalf("hint %q, want %q (prefix and four characters, no more)", hint, want)
	}
	other, _, _, _ := Generate(rand.Reader)
	if other == plain {
		t.Fatal("two secrets are equal")
	}
}

func TestIDUniformAlphabet(t *testing.T) {
	// A reader that yields every byte value: rejected values must not leak
	// characters from outside the alphabet.
	all := make([]byte, 0, 256*4)
	for i := 0; i < 4; i++ {
		for b := 0; b < 256; b++ {
			all = append(all, byte(b))
		}
	}
	id, err := ID(bytes.NewReader(all), "cgr_", 100)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "cgr_") || len(id) != 104 {
		t.Fatalf("id %q", id)
	}
	for _, c := range id[4:] {
		if !strings.ContainsRune(alnum, c) {
			t.Fatalf("character %q outside the alphabet", c)
		}
	}
	if _, err := ID(bytes.NewReader(nil), "", 4); err == nil {
		t.Fatal("expected an error from an empty reader")
	}
}
