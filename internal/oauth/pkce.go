package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCEMethodS256 is the only code_challenge_method gatehouse accepts
// (RFC 9700 §2.1.1: plain does not protect against a code leaked with the
// authorization request).
const PKCEMethodS256 = "S256"

// validPKCE checks the RFC 7636 §4.1 syntax shared by code_verifier and a
// code_challenge: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" /
// "." / "_" / "~".
func validPKCE(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// ValidCodeVerifier checks code_verifier syntax (RFC 7636 §4.1).
func ValidCodeVerifier(v string) bool { return validPKCE(v) }

// ValidS256Challenge checks that c can be an S256 code_challenge: the
// unpadded base64url encoding of a SHA-256 digest, 43 characters (RFC 7636
// §4.2).
func ValidS256Challenge(c string) bool {
	if len(c) != 43 || !validPKCE(c) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// S256Challenge returns BASE64URL(SHA256(verifier)) (RFC 7636 §4.2).
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// VerifyPKCE checks a code_verifier against the S256 challenge the
// authorization request carried (RFC 7636 §4.6), in constant time.
func VerifyPKCE(challenge, verifier string) bool {
	if !ValidCodeVerifier(verifier) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(S256Challenge(verifier)), []byte(challenge)) == 1
}
