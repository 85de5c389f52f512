package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/dpop/dpoptest"
)

var (
	t0      = time.Unix(1_800_000_000, 0)
	ecKey   = mustEC()
	ecOther = mustEC()
)

func mustEC() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func forge(t *testing.T, alg jose.SignatureAlgorithm, key any, header map[jose.HeaderKey]any, claims map[string]any) string {
	return dpoptest.Forge(t, alg, key, header, claims)
}

func claims(over map[string]any) map[string]any {
	return dpoptest.Claims("POST", "https://as.example/oauth/token", t0, over)
}

func pubJWK(k *ecdsa.PrivateKey) jose.JSONWebKey { return jose.JSONWebKey{Key: &k.PublicKey} }

func good(t *testing.T, over map[string]any) string {
	return forge(t, jose.ES256, ecKey, map[jose.HeaderKey]any{"typ": TypeProof, "jwk": pubJWK(ecKey)}, claims(over))
}

func newChecker() *Checker { return NewChecker(Config{Now: func() time.Time { return t0 }}) }

var tokenReq = Expect{Method: "POST", URL: "https://as.example/oauth/token"}

// TestCheckRefuses is the attacker's list: every proof here must be
// refused with its reason.
func TestCheckRefuses(t *testing.T) {
	otherJKT, _ := Thumbprint(&ecOther.PublicKey)
	hmacKey := []byte(strings.Repeat("k", 32))
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	privJWK := jose.JSONWebKey{Key: ecKey} // d included
	tests := []struct {
		name   string
		proof  string
		expect Expect
		want   error
	}{
		{"missing", "", tokenReq, ErrMissing},
		{"not a JWS", "abc.def", tokenReq, ErrMalformed},
		{"alg none", dpoptest.Unsigned(t, pubJWK(ecKey), claims(nil)), tokenReq, ErrAlgorithm},
		{"HMAC", forge(t, jose.HS256, hmacKey, map[jose.HeaderKey]any{"typ": TypeProof, "jwk": pubJWK(ecKey)}, claims(nil)), tokenReq, ErrAlgorithm},
		{"RS384 not listed", forge(t, jose.RS384, rsaKey, map[jose.HeaderKey]any{"typ": TypeProof, "jwk": jose.JSONWebKey{Key: &rsaKey.PublicKey}}, claims(nil)), tokenReq, ErrAlgorithm},
		{"typ JWT", forge(t, jose.ES256, ecKey, map[jose.HeaderKey]any{"typ": "JWT", "jwk": pubJWK(ecKey)}, claims(nil)), tokenReq, ErrType},
		{"no typ", forge(t, jose.ES256, ecKey, map[jose.HeaderKey]any{"jwk": pubJWK(ecKey)}, claims(nil)), tokenReq, ErrType},
		{"no jwk", forge(t, jose.ES256, ecKey, map[jose.HeaderKey]any{"typ": TypeProof}, claims(nil)), tokenReq, ErrKey},
		{"private key in jwk", forge(t, jose.ES256, ecKey, map[jose.HeaderKey]any{"typ": TypeProof, "jwk": privJWK}, claims(nil)), tokenReq, ErrKey},
		{"symmetric jwk", forge(t, jose.ES256, ecKey, map[jose.HeaderKey]any{"typ": TypeProof, "jwk": jose.JSONWebKey{Key: hmacKey}}, claims(nil)), tokenReq, ErrKey},
		{"signed by another key than jwk", forge(t, jose.ES256, ecOther, map[jose.HeaderKey]any{"typ": TypeProof, "jwk": pubJWK(ecKey)}, claims(nil)), tokenReq, ErrSignature},
		{"another method", good(t, map[string]any{"htm": "GET"}), tokenReq, ErrMethod},
		{"another URL", good(t, map[string]any{"htu": "https://as.example/oauth/revoke"}), tokenReq, ErrURL},
		{"another host", good(t, map[string]any{"htu": "https://evil.example/oauth/token"}), tokenReq, ErrURL},
		{"htu not absolute", good(t, map[string]any{"htu": "/oauth/token"}), tokenReq, ErrURL},
		{"stale iat", good(t, map[string]any{"iat": t0.Add(-DefaultMaxAge - time.Second).Unix()}), tokenReq, ErrIssuedAt},
		{"future iat", good(t, map[string]any{"iat": t0.Add(DefaultLeeway + time.Second).Unix()}), tokenReq, ErrIssuedAt},
		{"no jti", good(t, map[string]any{"jti": nil}), tokenReq, ErrMalformed},
		{"no iat", good(t, map[string]any{"iat": nil}), tokenReq, ErrMalformed},
		{"ath of another token", good(t, map[string]any{"ath": AccessTokenHash("other")}), Expect{Method: "POST", URL: tokenReq.URL, AccessToken: "tok"}, ErrTokenHash},
		{"no ath", good(t, nil), Expect{Method: "POST", URL: tokenReq.URL, AccessToken: "tok"}, ErrTokenHash},
		{"another key than the token's", good(t, nil), Expect{Method: "POST", URL: tokenReq.URL, JKT: otherJKT}, ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newChecker().Check(tt.proof, tt.expect)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckAccepts(t *testing.T) {
	c := newChecker()
	jkt, _ := Thumbprint(&ecKey.PublicKey)
	p, err := c.Check(good(t, map[string]any{"htu": "HTTPS://AS.example:443/oauth/token", "ath": AccessTokenHash("tok")}),
		Expect{Method: "POST", URL: "https://as.example/oauth/token?x=1#f", AccessToken: "tok", JKT: jkt})
	if err != nil {
		t.Fatal(err)
	}
	if p.JKT != jkt {
		t.Errorf("jkt = %s, want %s", p.JKT, jkt)
	}
}

// TestCheckAliases: htu may name one of Expect.Aliases (an endpoint's
// mutual-TLS alias) instead of its URL, and nothing else.
func TestCheckAliases(t *testing.T) {
	alias := "https://mtls.as.example:8443/oauth/token"
	want := Expect{Method: "POST", URL: tokenReq.URL, Aliases: []string{alias}}
	if _, err := newChecker().Check(good(t, map[string]any{"htu": alias}), want); err != nil {
		t.Errorf("a proof for the alias: %v", err)
	}
	if _, err := newChecker().Check(good(t, nil), want); err != nil {
		t.Errorf("a proof for the URL: %v", err)
	}
	if _, err := newChecker().Check(good(t, map[string]any{"htu": alias}), tokenReq); !errors.Is(err, ErrURL) {
		t.Errorf("a proof for an alias not expected: %v, want ErrURL", err)
	}
	if _, err := newChecker().Check(good(t, map[string]any{"htu": "https://mtls.as.example:8443/oauth/revoke"}), want); !errors.Is(err, ErrURL) {
		t.Errorf("a proof for another URL of the alias host: %v, want ErrURL", err)
	}
}

// TestSignerRoundTrip: the Signer's proofs pass the Checker for every key
// type and algorithm, and carry the key the thumbprint names.
func TestSignerRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		key  crypto.Signer
		alg  string
	}{
		{"ES256", ecKey, ""}, {"PS256", mustRSA(t), ""}, {"RS256", mustRSA(t), "RS256"}, {"EdDSA", mustEd(t), ""},
		{"opaque crypto.Signer", opaque{ecKey}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(tt.key, tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			s.Now = func() time.Time { return t0 }
			proof, err := s.Proof("GET", "https://api.example/things?page=2", "tok", "")
			if err != nil {
				t.Fatal(err)
			}
			p, err := newChecker().Check(proof, Expect{Method: "GET", URL: "https://api.example/things", AccessToken: "tok", JKT: s.JKT()})
			if err != nil {
				t.Fatal(err)
			}
			if p.JKT != s.JKT() {
				t.Errorf("jkt %s, want %s", p.JKT, s.JKT())
			}
		})
	}
	if _, err := NewSigner(mustEC384(t), ""); err == nil {
		t.Error("a P-384 key was taken for ES256")
	}
}

// opaque hides the key's type, as a KMS signer does.
type opaque struct{ crypto.Signer }

func TestReplay(t *testing.T) {
	c := newChecker()
	proof := good(t, nil)
	if _, err := c.Check(proof, tokenReq); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(proof, tokenReq); !errors.Is(err, ErrReplay) {
		t.Fatalf("replayed proof: err = %v, want ErrReplay", err)
	}
	// Still refused until its iat leaves the window, on the generation
	// boundary too.
	now := t0
	c.now = func() time.Time { return now }
	for _, d := range []time.Duration{DefaultMaxAge - time.Second, DefaultMaxAge + DefaultLeeway/2} {
		now = t0.Add(d)
		_, err := c.Check(proof, tokenReq)
		if d < DefaultMaxAge && !errors.Is(err, ErrReplay) {
			t.Fatalf("after %s: err = %v, want ErrReplay", d, err)
		}
		if d > DefaultMaxAge && !errors.Is(err, ErrIssuedAt) {
			t.Fatalf("after %s: err = %v, want ErrIssuedAt", d, err)
		}
	}
}

func TestReplayCacheBounded(t *testing.T) {
	c := newReplayCache(replayShards*2, time.Minute)
	full := 0
	for i := range 10 * replayShards {
		if err := c.add("k", string(rune(i))+"x", t0); errors.Is(err, ErrReplayFull) {
			full++
		}
	}
	if c.len() > replayShards*2 || full == 0 {
		t.Fatalf("len %d, refused %d: the cache is not bounded", c.len(), full)
	}
	// Two ttls later everything is forgotten and room is back.
	if err := c.add("k", "late", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func TestNonces(t *testing.T) {
	key := []byte(strings.Repeat("m", 32))
	n, err := NewNonces(key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewNonces(key, time.Minute) // another instance, same key
	foreign, _ := NewNonces([]byte(strings.Repeat("x", 32)), time.Minute)
	cur := n.Current(t0)
	switch {
	case !other.Valid(cur, t0):
		t.Error("another instance refused the nonce")
	case !n.Valid(cur, t0.Add(time.Minute)):
		t.Error("the nonce died in the next window")
	case n.Valid(cur, t0.Add(2*time.Minute+time.Second)):
		t.Error("the nonce outlived two windows")
	case foreign.Valid(cur, t0):
		t.Error("a nonce of another key passed")
	case n.Valid("", t0), n.Valid(strings.Repeat("A", 32), t0):
		t.Error("a made-up nonce passed")
	case n.Current(t0.Add(time.Minute)) == cur:
		t.Error("the nonce did not rotate")
	}
	c := NewChecker(Config{Now: func() time.Time { return t0 }, Nonces: n})
	if _, err := c.Check(good(t, nil), tokenReq); !errors.Is(err, ErrUseNonce) {
		t.Errorf("no nonce: err = %v, want ErrUseNonce", err)
	}
	if _, err := c.Check(good(t, map[string]any{"nonce": foreign.Current(t0)}), tokenReq); !errors.Is(err, ErrUseNonce) {
		t.Errorf("foreign nonce: err = %v, want ErrUseNonce", err)
	}
	if _, err := c.Check(good(t, map[string]any{"nonce": cur}), tokenReq); err != nil {
		t.Errorf("current nonce: %v", err)
	}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://AS.Example:443/a/b?q=1#f": "https://as.example/a/b",
		"http://as.example:80":             "http://as.example/",
		"http://as.example:8080/x":         "http://as.example:8080/x",
		"https://[::1]:8443/t":             "https://[::1]:8443/t",
		"https://as.example/a%7eb%2f%2F":   "https://as.example/a~b%2F%2F",
		"https://as.example/%41%5a%3a":     "https://as.example/AZ%3A",
	} {
		got, err := NormalizeURL(in)
		if err != nil || got != want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"/relative", "ftp://x/", "https://user@host/", "::"} {
		if _, err := NormalizeURL(bad); err == nil {
			t.Errorf("NormalizeURL(%q) accepted", bad)
		}
	}
}

func mustEC384(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEd(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
