// Package dpoptest forges DPoP proofs for tests: the attacker's tool, free
// to put any header, algorithm and claim in a proof, so that tests of the
// server, of verify and of package dpop can show each one refused.
package dpoptest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Claims are a proof's claims for a request of method to url at iat, with
// a fresh jti; over replaces them (a nil value removes one).
func Claims(method, url string, iat time.Time, over map[string]any) map[string]any {
	c := map[string]any{"jti": rand.Text(), "htm": method, "htu": url, "iat": iat.Unix()}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// Forge signs claims with key under alg and puts header in the protected
// header as given (typ and jwk included: nothing is added).
func Forge(t testing.TB, alg jose.SignatureAlgorithm, key any, header map[jose.HeaderKey]any, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range header {
		opts.WithHeader(k, v)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Unsigned is a proof with alg "none" and the given jwk (RFC 7518 §3.6),
// which no checker may accept.
func Unsigned(t testing.TB, jwk jose.JSONWebKey, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(map[string]any{"alg": "none", "typ": "dpop+jwt", "jwk": jwk})
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}
