package oidc

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

type keySet []byte

func (k keySet) JWKS() []byte { return k }

func newKey(t *testing.T, kid string) (*rsa.PrivateKey, jose.JSONWebKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}
}

func sign(t *testing.T, k *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

func TestVerifier(t *testing.T) {
	k1, pub1 := newKey(t, "k1")
	k2, _ := newKey(t, "k2") // not published
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub1}})
	v := &Verifier{Issuer: "https://auth.example.com/", Keys: keySet(set)}
	now := time.Unix(1_800_000_000, 0)
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"iss": "https://auth.example.com/", "sub": "usr_1", "aud": []string{"https://api", "https://auth.example.com/userinfo"},
			"exp": now.Unix() + 60, "iat": now.Unix(), "scope": "openid email"}
		if mod != nil {
			mod(c)
		}
		return c
	}
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"valid, aud array", sign(t, k1, "k1", claims(nil)), nil},
		{"valid, aud string", sign(t, k1, "k1", claims(func(c map[string]any) { c["aud"] = "https://api" })), nil},
		{"unknown kid", sign(t, k2, "k2", claims(nil)), ErrSignature},
		{"another key under a known kid", sign(t, k2, "k1", claims(nil)), ErrSignature},
		{"another issuer", sign(t, k1, "k1", claims(func(c map[string]any) { c["iss"] = "https://evil.example.com/" })), ErrIssuer},
		{"expired", sign(t, k1, "k1", claims(func(c map[string]any) { c["exp"] = now.Unix() })), ErrExpired},
		{"not a JWS", "a.b.c", ErrMalformed},
		{"alg none", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(tc.token, now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if err == nil && (c.Subject != "usr_1" || !c.Audience.Has("https://api")) {
				t.Errorf("claims %+v", c)
			}
		})
	}
	// The zero time skips the expiry check (an expired id_token_hint still
	// names its user).
	if _, err := v.Verify(sign(t, k1, "k1", claims(func(c map[string]any) { c["exp"] = 1 })), time.Time{}); err != nil {
		t.Errorf("expired token without a time: %v", err)
	}
	// A rotated key set is read again.
	k3, pub3 := newKey(t, "k3")
	set, _ = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub1, pub3}})
	v.Keys = keySet(set)
	if _, err := v.Verify(sign(t, k3, "k3", claims(nil)), now); err != nil {
		t.Errorf("a key published later: %v", err)
	}
}
