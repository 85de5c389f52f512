package oauth

import "testing"

// TestPKCE uses the example of RFC 7636 Appendix B.
func TestPKCE(t *testing.T) {
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if got := S256Challenge(verifier); got != challenge {
		t.Errorf("S256Challenge = %s, want %s (RFC 7636 Appendix B)", got, challenge)
	}
	if !ValidS256Challenge(challenge) {
		t.Error("the RFC's challenge is refused")
	}
	tests := []struct {
		name     string
		verifier string
		want     bool
	}{
		{"right", verifier, true},
		{"wrong", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj", false},
		{"the challenge itself (plain)", challenge, false},
		{"empty", "", false},
		{"too short", verifier[:42], false},
		{"bad character", verifier[:42] + "+", false},
		{"too long", string(make([]byte, 129)), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifyPKCE(challenge, tc.verifier); got != tc.want {
				t.Errorf("VerifyPKCE = %v, want %v", got, tc.want)
			}
		})
	}
	for _, c := range []string{"", "short", challenge + "A", challenge[:42] + "!", challenge[:42] + "~"} {
		if ValidS256Challenge(c) {
			t.Errorf("ValidS256Challenge(%q) = true", c)
		}
	}
}
