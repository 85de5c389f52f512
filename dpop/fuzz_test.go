package dpop

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzCheck: no input makes Check panic, accept anything but a proof of
// this test's key (fixed, so that every fuzzing process has it), or fail
// without one of the package's reasons.
func FuzzCheck(f *testing.F) {
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	s, err := NewSigner(key, "")
	if err != nil {
		f.Fatal(err)
	}
	s.Now = func() time.Time { return t0 }
	good, _ := s.Proof("POST", "https://as.example/oauth/token", "", "")
	parts := strings.Split(good, ".")
	for _, seed := range []string{good, "", "a.b.c", parts[0] + ".." + parts[2], parts[0] + "." + parts[1] + ".", strings.Repeat("A", 9000)} {
		f.Add(seed)
	}
	reasons := []error{ErrMissing, ErrMalformed, ErrType, ErrAlgorithm, ErrKey, ErrSignature, ErrMethod, ErrURL, ErrIssuedAt, ErrReplay}
	f.Fuzz(func(t *testing.T, proof string) {
		p, err := newChecker().Check(proof, tokenReq)
		if err == nil {
			if p.JKT != s.JKT() {
				t.Fatalf("accepted %q", proof)
			}
			return
		}
		for _, r := range reasons {
			if errors.Is(err, r) {
				return
			}
		}
		t.Fatalf("error without a reason: %v", err)
	})
}
