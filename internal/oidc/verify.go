package oidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// KeySource publishes the public signing keys as a JWK Set (package keys).
type KeySource interface {
	JWKS() []byte
}

// Algs are the JWS algorithms gatehouse signs with.
var Algs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256, jose.EdDSA}

// Claims are the claims of a gatehouse access or ID token this package reads.
type Claims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience Audience `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	ClientID string   `json:"client_id"`
	AZP      string   `json:"azp"`
	Scope    string   `json:"scope"`
	JTI      string   `json:"jti"`
}

// Audience is the aud claim: one string or an array (RFC 7519 §4.1.3).
type Audience []string

// UnmarshalJSON reads a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// Has reports whether aud names s.
func (a Audience) Has(s string) bool {
	for _, v := range a {
		if v == s {
			return true
		}
	}
	return false
}

// Verifier checks the signature and issuer of tokens gatehouse issued,
// against its current JWK Set.
type Verifier struct {
	Issuer string
	Keys   KeySource

	mu   sync.Mutex
	raw  []byte
	keys jose.JSONWebKeySet
}

// Errors of Verify.
var (
	ErrMalformed = errors.New("the token is not a JWS")
	ErrSignature = errors.New("the token's signature does not verify")
	ErrIssuer    = errors.New("the token is from another issuer")
	ErrExpired   = errors.New("the token expired")
)

// Verify checks token's signature (RFC 7515 §5.2) with the key its kid
// names, and its issuer, and returns its claims; with now not zero, also
// that it has not expired.
func (v *Verifier) Verify(token string, now time.Time) (Claims, error) {
	jws, err := jose.ParseSignedCompact(token, Algs)
	if err != nil || len(jws.Signatures) != 1 {
		return Claims{}, ErrMalformed
	}
	kid := jws.Signatures[0].Header.KeyID
	key, ok := v.key(kid)
	if !ok {
		return Claims{}, ErrSignature
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return Claims{}, ErrSignature
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if c.Issuer != v.Issuer {
		return Claims{}, ErrIssuer
	}
	if !now.IsZero() && now.Unix() >= c.Expiry {
		return Claims{}, ErrExpired
	}
	return c, nil
}

// key returns the public key kid names, re-reading the key set when the
// keys published changed.
func (v *Verifier) key(kid string) (jose.JSONWebKey, bool) {
	raw := v.Keys.JWKS()
	v.mu.Lock()
	defer v.mu.Unlock()
	if !bytes.Equal(raw, v.raw) {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(raw, &set); err != nil {
			return jose.JSONWebKey{}, false
		}
		v.raw, v.keys = bytes.Clone(raw), set
	}
	ks := v.keys.Key(kid)
	if len(ks) != 1 {
		return jose.JSONWebKey{}, false
	}
	return ks[0], true
}
