package verify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestNewRejectsBadConfig(t *testing.T) {
	ok := Config{Issuer: "https://issuer.test/", Audience: "https://api.test"}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"http issuer on loopback", func(c *Config) { c.Issuer = "http://127.0.0.1:8080" }, ""},
		{"http elsewhere with InsecureAllowHTTP", func(c *Config) { c.Issuer, c.InsecureAllowHTTP = "http://issuer.test", true }, ""},
		{"all asymmetric algorithms", func(c *Config) { c.Algorithms = asymmetric }, ""},
		{"maximum leeway", func(c *Config) { c.Leeway = MaxLeeway }, ""},
		{"no issuer", func(c *Config) { c.Issuer = "" }, "Issuer is empty"},
		{"no audience", func(c *Config) { c.Audience = "" }, "Audience is empty"},
		{"http issuer elsewhere", func(c *Config) { c.Issuer = "http://issuer.test" }, "InsecureAllowHTTP"},
		{"http JWKS elsewhere", func(c *Config) { c.JWKSURL = "http://issuer.test/jwks" }, "InsecureAllowHTTP"},
		{"alg none", func(c *Config) { c.Algorithms = []string{"RS256", "none"} }, `"none"`},
		{"HMAC", func(c *Config) { c.Algorithms = []string{"HS256"} }, `"HS256"`},
		{"leeway too long", func(c *Config) { c.Leeway = MaxLeeway + time.Second }, "Leeway"},
		{"empty type", func(c *Config) { c.Types = []string{""} }, "type"},
		{"negative size", func(c *Config) { c.MaxTokenSize = -1 }, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mod(&cfg)
			_, err := New(cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New: %v, want an error about %s", err, tc.want)
			}
		})
	}
}

// b64 is base64url without padding (RFC 7515 §2).
func b64(s []byte) string { return base64.RawURLEncoding.EncodeToString(s) }

func jsonPart(v any) string { return b64(must(json.Marshal(v))) }

// hs256 signs header.claims with HMAC-SHA256 under secret: the algorithm
// confusion attack when secret is the issuer's public key.
func hs256(header, c map[string]any, secret []byte) string {
	in := jsonPart(header) + "." + jsonPart(c)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + b64(m.Sum(nil))
}

func TestVerify(t *testing.T) {
	rs := keyFor("RS256")
	pubDER := must(x509.MarshalPKIXPublicKey(rsaPublic()))
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	good := sign(t, rs, "at+jwt", claims())
	parts := strings.Split(good, ".")
	stranger := testKey{"rs-unknown", "RS256", rsaPriv2}

	tests := []struct {
		name  string
		token string
		mod   func(*Config)
		want  error // nil: valid
	}{
		{"valid RS256", good, nil, nil},
		{"valid PS256", sign(t, keyFor("PS256"), "at+jwt", claims()), nil, nil},
		{"valid ES256", sign(t, keyFor("ES256"), "at+jwt", claims()), nil, nil},
		{"valid EdDSA", sign(t, keyFor("EdDSA"), "at+jwt", claims()), nil, nil},
		{"typ application/at+jwt", sign(t, rs, "application/AT+JWT", claims()), nil, nil},
		{"audience in an array", sign(t, rs, "at+jwt", with("aud", []string{"https://other", testAudience})), nil, nil},
		{"expired within the leeway", sign(t, rs, "at+jwt", with("exp", t0.Add(-29*time.Second).Unix())), nil, nil},
		{"expired", sign(t, rs, "at+jwt", with("exp", t0.Add(-31*time.Second).Unix())), nil, ErrExpired},
		{"expired, no leeway", sign(t, rs, "at+jwt", with("exp", t0.Add(-time.Second).Unix())), func(c *Config) { c.Leeway = -1 }, ErrExpired},
		{"expires now, no leeway", sign(t, rs, "at+jwt", with("exp", t0.Unix())), func(c *Config) { c.Leeway = -1 }, ErrExpired},
		{"not yet valid", sign(t, rs, "at+jwt", with("nbf", t0.Add(time.Minute).Unix())), nil, ErrNotYetValid},
		{"nbf within the leeway", sign(t, rs, "at+jwt", with("nbf", t0.Add(20*time.Second).Unix())), nil, nil},
		{"issued in the future", sign(t, rs, "at+jwt", with("iat", t0.Add(time.Minute).Unix())), nil, ErrIssuedInFuture},
		{"wrong audience", sign(t, rs, "at+jwt", with("aud", "https://other.test")), nil, ErrAudience},
		{"no audience", sign(t, rs, "at+jwt", with("aud", nil)), nil, ErrAudience},
		{"wrong issuer", sign(t, rs, "at+jwt", with("iss", "https://issuer.test")), nil, ErrIssuer},
		{"no exp", sign(t, rs, "at+jwt", with("exp", nil)), nil, ErrMalformed},
		{"no iat", sign(t, rs, "at+jwt", with("iat", nil)), nil, ErrMalformed},
		{"no sub", sign(t, rs, "at+jwt", with("sub", nil)), nil, ErrMalformed},
		{"scope not a string", sign(t, rs, "at+jwt", with("scope", []string{"a"})), nil, ErrMalformed},
		{"typ JWT refused by default", sign(t, rs, "JWT", claims()), nil, ErrType},
		{"typ JWT for the auth0 dialect", sign(t, rs, "JWT", with("sub", "svc@clients")), func(c *Config) { c.Types = []string{TypeAccessToken, TypeJWT} }, nil},
		{"no typ", sign(t, rs, "", claims()), nil, ErrType},
		{"an ID token's typ", sign(t, rs, "id+jwt", claims()), nil, ErrType},
		{"alg none", jsonPart(map[string]any{"alg": "none", "typ": "at+jwt", "kid": rs.kid}) + "." + parts[1] + ".", nil, ErrAlgorithm},
		{"alg none, no signature part", jsonPart(map[string]any{"alg": "none", "typ": "at+jwt"}) + "." + parts[1], nil, ErrAlgorithm},
		{"HS256 with the RSA public key (PEM)", hs256(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": rs.kid}, claims(), pubPEM), nil, ErrAlgorithm},
		{"HS256 with the RSA public key (DER)", hs256(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": rs.kid}, claims(), pubDER), nil, ErrAlgorithm},
		{"algorithm not on the list", sign(t, keyFor("ES256"), "at+jwt", claims()), func(c *Config) { c.Algorithms = []string{"RS256"} }, ErrAlgorithm},
		{"PS256 with the RS256 key's kid", sign(t, testKey{rs.kid, "PS256", rsaPriv}, "at+jwt", claims()), nil, ErrUnknownKey},
		{"unknown kid", sign(t, stranger, "at+jwt", claims()), nil, ErrUnknownKey},
		{"no kid", sign(t, testKey{"", "RS256", rsaPriv}, "at+jwt", claims()), nil, ErrUnknownKey},
		{"known kid, another key", sign(t, testKey{rs.kid, "RS256", rsaPriv2}, "at+jwt", claims()), nil, ErrSignature},
		{"tampered payload", parts[0] + "." + jsonPart(with("scope", "admin")) + "." + parts[2], nil, ErrSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + b64([]byte("forged")), nil, ErrSignature},
		{"oversized", sign(t, rs, "at+jwt", with("pad", strings.Repeat("x", 8<<10))), nil, ErrTooLarge},
		{"large but under a raised limit", sign(t, rs, "at+jwt", with("pad", strings.Repeat("x", 8<<10))), func(c *Config) { c.MaxTokenSize = 16 << 10 }, nil},
		{"empty", "", nil, ErrMalformed},
		{"not a JWS", "hello", nil, ErrMalformed},
		{"four parts", good + ".x", nil, ErrMalformed},
		{"JSON serialization", `{"payload":"` + parts[1] + `","signatures":[]}`, nil, ErrMalformed},
		{"header not base64", "!!." + parts[1] + "." + parts[2], nil, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t, keyFor("RS256"), keyFor("PS256"), keyFor("ES256"), keyFor("EdDSA"))
			v, _ := newTestVerifier(t, f, tc.mod)
			c, err := v.Verify(t.Context(), tc.token)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.Subject == "" || c.ClientID != "svc" || !c.HasScope("read:sensors") || c.Expiry.IsZero() {
					t.Fatalf("claims %+v", c)
				}
				return
			}
			if !errors.Is(err, tc.want) || c != nil {
				t.Fatalf("Verify: %v, %v; want %v", c, err, tc.want)
			}
			if reason(err) != tc.want {
				t.Fatalf("reason(%v) = %v", err, reason(err))
			}
			if len(tc.token) > 20 && strings.Contains(err.Error(), tc.token[len(tc.token)-20:]) {
				t.Fatalf("the error %q contains the token", err)
			}
		})
	}
}

func rsaPublic() any { keys(); return rsaPriv.Public() }

func TestClaims(t *testing.T) {
	f := newFakeIssuer(t, keyFor("ES256"))
	v, _ := newTestVerifier(t, f, nil)
	c, err := v.Verify(t.Context(), sign(t, keyFor("ES256"), "at+jwt", with("tenant", "acme", "nbf", t0.Unix())))
	if err != nil {
		t.Fatal(err)
	}
	want := Claims{Issuer: testIssuer, Subject: "svc", Audience: []string{testAudience}, ClientID: "svc", AuthorizedParty: "svc",
		Scope: "read:sensors write:sensors", GrantType: "client-credentials", ID: "j1", IssuedAt: t0, NotBefore: t0,
		Expiry: t0.Add(time.Hour), Type: "at+jwt", KeyID: "es-1", Algorithm: "ES256"}
	got := *c
	got.raw = nil
	if got.Issuer != want.Issuer || got.Subject != want.Subject || strings.Join(got.Audience, ",") != testAudience ||
		got.ClientID != want.ClientID || got.AuthorizedParty != want.AuthorizedParty || got.Scope != want.Scope ||
		got.GrantType != want.GrantType || got.ID != want.ID || !got.IssuedAt.Equal(want.IssuedAt) ||
		!got.NotBefore.Equal(want.NotBefore) || !got.Expiry.Equal(want.Expiry) || got.Type != want.Type ||
		got.KeyID != want.KeyID || got.Algorithm != want.Algorithm {
		t.Fatalf("claims\n%+v\nwant\n%+v", got, want)
	}
	var extra struct{ Tenant string }
	if err := c.Decode(&extra); err != nil || extra.Tenant != "acme" {
		t.Fatalf("Decode: %+v %v", extra, err)
	}
	scopes := []struct {
		name string
		ok   bool
	}{
		{"HasScope read", c.HasScope("read:sensors")},
		{"not HasScope admin", !c.HasScope("admin")},
		{"not HasScope of a prefix", !c.HasScope("read")},
		{"HasAllScopes", c.HasAllScopes("read:sensors", "write:sensors")},
		{"not HasAllScopes", !c.HasAllScopes("read:sensors", "admin")},
		{"HasAllScopes of none", c.HasAllScopes()},
		{"HasAnyScope", c.HasAnyScope("admin", "write:sensors")},
		{"not HasAnyScope", !c.HasAnyScope("admin")},
		{"Scopes", strings.Join(c.Scopes(), "|") == "read:sensors|write:sensors"},
	}
	for _, s := range scopes {
		if !s.ok {
			t.Errorf("%s: false", s.name)
		}
	}
}

func TestDiscoveryOfJWKS(t *testing.T) {
	tests := []struct {
		name    string
		issuer  string // as configured
		wantErr bool
	}{
		{"issuer as published", testIssuer, false},
		{"issuer spelled otherwise", strings.TrimSuffix(testIssuer, "/"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t, keyFor("RS256"))
			// The metadata lives on the fake server; route the issuer's host to it.
			v, _ := newTestVerifier(t, f, func(c *Config) {
				c.JWKSURL, c.Issuer = "", tc.issuer
				c.HTTPClient = redirectTo(f.srv.URL)
			})
			tok := sign(t, keyFor("RS256"), "at+jwt", with("iss", tc.issuer))
			_, err := v.Verify(t.Context(), tok)
			if tc.wantErr != errors.Is(err, ErrKeysUnavailable) || (!tc.wantErr && err != nil) {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestUnknownKidRefetchOnceThenReject(t *testing.T) {
	old, next := keyFor("RS256"), testKey{"rs-2", "RS256", rsaPriv2}
	f := newFakeIssuer(t, old)
	v, clk := newTestVerifier(t, f, nil)
	if _, err := v.Verify(t.Context(), sign(t, old, "at+jwt", claims())); err != nil {
		t.Fatal(err)
	}
	forged := sign(t, testKey{"rs-forged", "RS256", rsaPriv2}, "at+jwt", claims())
	steps := []struct {
		name    string
		advance time.Duration
		token   string
		want    error
		fetches int // total after the step
	}{
		{"unknown kid right after a fetch: refused", 600 * time.Millisecond, forged, ErrUnknownKey, 1},
		{"unknown kid a second after the fetch: one refetch, then refused", 400 * time.Millisecond, forged, ErrUnknownKey, 2},
		{"again at once: no refetch", 100 * time.Millisecond, forged, ErrUnknownKey, 2},
		{"known kid meanwhile: no fetch", 100 * time.Millisecond, sign(t, old, "at+jwt", claims()), nil, 2},
		{"after the refetch interval: one more", 800 * time.Millisecond, forged, ErrUnknownKey, 3},
	}
	if DefaultRefetchInterval != time.Second {
		t.Fatalf("DefaultRefetchInterval %s: the steps assume 1s", DefaultRefetchInterval)
	}
	for _, s := range steps {
		clk.Add(s.advance)
		_, err := v.Verify(t.Context(), s.token)
		if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Fatalf("%s: %v, want %v", s.name, err, s.want)
		}
		if n := f.count(); n != s.fetches {
			t.Fatalf("%s: %d JWKS fetches, want %d", s.name, n, s.fetches)
		}
	}
	// A key rotation: the issuer publishes the new key and signs with it.
	f.publish(old, next)
	clk.Add(DefaultRefetchInterval)
	if _, err := v.Verify(t.Context(), sign(t, next, "at+jwt", claims())); err != nil {
		t.Fatalf("token of the rotated-in key: %v", err)
	}
	if n := f.count(); n != 4 {
		t.Fatalf("%d fetches, want 4", n)
	}
}

func TestUnknownKidStormOneFetch(t *testing.T) {
	f := newFakeIssuer(t, keyFor("RS256"))
	v, clk := newTestVerifier(t, f, nil)
	if _, err := v.Verify(t.Context(), sign(t, keyFor("RS256"), "at+jwt", claims())); err != nil {
		t.Fatal(err)
	}
	clk.Add(DefaultRefetchInterval)
	next := testKey{"rs-2", "RS256", rsaPriv2}
	f.publish(keyFor("RS256"), next)
	f.set(func(f *fakeIssuer) { f.hold, f.arrived = make(chan struct{}), make(chan struct{}, 100) })
	tok := sign(t, next, "at+jwt", claims())
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Go(func() { _, errs[i] = v.Verify(t.Context(), tok) })
	}
	<-f.arrived
	close(f.hold)
	wg.Wait()
	if n := f.count(); n != 2 {
		t.Fatalf("30 concurrent verifications of an unknown kid made %d refetches, want 1", n-1)
	}
	for i, err := range errs {
		// Callers that came after the refetch and its interval are refused;
		// the ones that shared it accept the token.
		if err != nil && !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("after the refetch: %v", err)
	}
}

func TestJWKSCacheLifetime(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string
		age          string        // the Age header of a cache in between
		fresh        time.Duration // no refetch until then
	}{
		{"max-age", "public, max-age=120", "", 120 * time.Second},
		{"a short max-age, as the issuer says", "max-age=2", "", 2 * time.Second},
		{"max-age=0: the floor", "max-age=0", "", DefaultJWKSMinAge},
		{"max-age over the maximum", "max-age=999999999", "", DefaultJWKSMaxAge},
		{"no-cache", "no-cache", "", DefaultJWKSMinAge},
		{"no header", "", "", DefaultJWKSAge},
		{"garbage", "max-age=soon", "", DefaultJWKSAge},
		// RFC 9111 §4.2.3: a response a cache kept for Age seconds has
		// that much less of its max-age left.
		{"max-age less the Age of a cache in between", "max-age=300", "200", 100 * time.Second},
		{"an Age past the max-age: the floor", "max-age=300", "400", DefaultJWKSMinAge},
		{"a garbled Age is none", "max-age=300", "soon", 300 * time.Second},
		// RFC 9110 §5.3: several field lines are one comma-separated list.
		{"no-cache on a second line", "public, max-age=300\nno-cache", "", DefaultJWKSMinAge},
		{"max-age on a second line", "public\nmax-age=120", "", 120 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t, keyFor("ES256"))
			f.set(func(f *fakeIssuer) { f.cacheControl, f.age = tc.cacheControl, tc.age })
			v, clk := newTestVerifier(t, f, nil)
			c := with("exp", t0.Add(48*time.Hour).Unix())
			tok := sign(t, keyFor("ES256"), "at+jwt", c)
			verify := func() {
				t.Helper()
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Fatal(err)
				}
			}
			verify()
			clk.Add(tc.fresh - time.Second)
			verify()
			if n := f.count(); n != 1 {
				t.Fatalf("refetched before %v", tc.fresh)
			}
			clk.Add(time.Second)
			verify()
			if n := f.count(); n != 2 {
				t.Fatalf("%d fetches at %v, want a refetch", n, tc.fresh)
			}
		})
	}
}

func TestJWKSFailures(t *testing.T) {
	f := newFakeIssuer(t, keyFor("EdDSA"))
	f.set(func(f *fakeIssuer) { f.status = 500 })
	v, clk := newTestVerifier(t, f, nil)
	tok := sign(t, keyFor("EdDSA"), "at+jwt", with("exp", t0.Add(time.Hour).Unix()))
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("JWKS down: %v, want ErrKeysUnavailable", err)
	}
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrKeysUnavailable) || f.count() != 1 {
		t.Fatalf("right after a failure: %v, %d fetches; want no new fetch", err, f.count())
	}
	f.set(func(f *fakeIssuer) { f.status = 0 })
	clk.Add(failurePause)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("JWKS back: %v", err)
	}
	// Stale keys keep working while the JWKS is down.
	f.set(func(f *fakeIssuer) { f.status = 500 })
	clk.Add(10 * time.Minute)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("stale keys, JWKS down: %v", err)
	}
	if n := f.count(); n != 3 {
		t.Fatalf("%d fetches, want the failed refresh of the stale keys", n)
	}
}

// redirectTo is an HTTP client that sends every request to base, as if
// the issuer's host resolved to it.
func redirectTo(base string) *http.Client {
	u := must(url.Parse(base))
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = u.Scheme, u.Host
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestJWKSIgnoresUnusableKeys(t *testing.T) {
	rs := keyFor("RS256")
	f := newFakeIssuer(t)
	f.publishRaw(
		jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hmac", Algorithm: "HS256"},
		jose.JSONWebKey{Key: rsaPriv, KeyID: rs.kid, Algorithm: "RS256"}, // private: used as its public half
		jose.JSONWebKey{Key: rsaPriv2.Public(), KeyID: "enc", Algorithm: "RS256", Use: "enc"},
	)
	v, _ := newTestVerifier(t, f, nil)
	if _, err := v.Verify(t.Context(), sign(t, rs, "at+jwt", claims())); err != nil {
		t.Fatalf("public half of a published private key: %v", err)
	}
	if _, err := v.Verify(t.Context(), sign(t, testKey{"enc", "RS256", rsaPriv2}, "at+jwt", claims())); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a key for encryption: %v", err)
	}
	hs := hs256(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": "hmac"}, claims(), []byte("0123456789abcdef0123456789abcdef"))
	if _, err := v.Verify(t.Context(), hs); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("HS256 with a published symmetric key: %v", err)
	}
}

func TestVerifiedTokenCache(t *testing.T) {
	f := newFakeIssuer(t, keyFor("ES256"), keyFor("RS256"))
	v, clk := newTestVerifier(t, f, func(c *Config) { c.CacheSize = 8 })
	tok := sign(t, keyFor("ES256"), "at+jwt", claims())
	c1, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	c1.Scope = "admin" // callers get copies
	c2, err := v.Verify(t.Context(), tok)
	if err != nil || c2.Scope != "read:sensors write:sensors" || v.cache.len() != 1 {
		t.Fatalf("cached: %+v %v, %d entries", c2, err, v.cache.len())
	}
	// Entries expire with the token (and its leeway).
	clk.Add(time.Hour + DefaultLeeway)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("cached token past its expiry: %v", err)
	}
	// Bounded.
	for i := range 50 {
		c := with("jti", fmt.Sprint(i), "iat", clk.Now().Unix(), "exp", clk.Now().Add(time.Hour).Unix())
		if _, err := v.Verify(t.Context(), sign(t, keyFor("RS256"), "at+jwt", c)); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.cache.len(); n > 8 || n == 0 {
		t.Fatalf("cache holds %d entries, want 1..8", n)
	}
	// A key that leaves the JWKS takes the cache with it.
	f.publish(keyFor("ES256"))
	clk.Add(10 * time.Minute)
	tok3 := sign(t, keyFor("ES256"), "at+jwt", with("iat", clk.Now().Unix(), "exp", clk.Now().Add(time.Hour).Unix()))
	if _, err := v.Verify(t.Context(), tok3); err != nil {
		t.Fatal(err)
	}
	if n := v.cache.len(); n != 1 {
		t.Fatalf("after a key left the JWKS the cache holds %d entries, want only the new one", n)
	}
}

func TestCancelledContextWhileFetching(t *testing.T) {
	f := newFakeIssuer(t, keyFor("ES256"))
	f.set(func(f *fakeIssuer) { f.hold, f.arrived = make(chan struct{}), make(chan struct{}, 10) })
	v, _ := newTestVerifier(t, f, nil)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error)
	tok := sign(t, keyFor("ES256"), "at+jwt", claims())
	go func() { _, err := v.Verify(ctx, tok); errc <- err }()
	<-f.arrived
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("cancelled: %v", err)
	}
	close(f.hold)
	if _, err := v.Verify(t.Context(), tok); err != nil || f.count() != 1 {
		t.Fatalf("after: %v, %d fetches", err, f.count())
	}
}
