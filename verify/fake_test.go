package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testKey is a signing key and its public JWK.
type testKey struct {
	kid  string
	alg  string
	priv crypto.Signer
}

func (k testKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"}
}

var (
	keysOnce sync.Once
	rsaPriv  *rsa.PrivateKey
	rsaPriv2 *rsa.PrivateKey
	ecPriv   *ecdsa.PrivateKey
	edPriv   ed25519.PrivateKey
)

// keys generates the test keys once per process; RSA generation is slow.
func keys() {
	keysOnce.Do(func() {
		var err error
		if rsaPriv, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsaPriv2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecPriv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if _, edPriv, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	})
}

// keyFor returns a key for alg with a kid that names the alg.
func keyFor(alg string) testKey {
	keys()
	switch alg {
	case "RS256":
		return testKey{"rs-1", alg, rsaPriv}
	case "PS256":
		return testKey{"ps-1", alg, rsaPriv2}
	case "ES256":
		return testKey{"es-1", alg, ecPriv}
	case "EdDSA":
		return testKey{"ed-1", alg, edPriv}
	}
	panic("no key for " + alg)
}

const (
	testIssuer   = "https://issuer.test/"
	testAudience = "https://api.test"
)

// fakeIssuer serves metadata and a JWKS, and counts JWKS fetches.
type fakeIssuer struct {
	srv *httptest.Server

	mu           sync.Mutex
	published    []jose.JSONWebKey
	cacheControl string
	age          string // the JWKS's Age header, as a cache in between sends it
	status       int    // of the JWKS; 0 means 200
	fetches      int
	hold         chan struct{} // when set, JWKS requests wait for it
	arrived      chan struct{}
}

func newFakeIssuer(t testing.TB, published ...testKey) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{cacheControl: "public, max-age=300"}
	f.publish(published...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": testIssuer, "jwks_uri": f.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.fetches++
		set := jose.JSONWebKeySet{Keys: f.published}
		cc, age, status, hold, arrived := f.cacheControl, f.age, f.status, f.hold, f.arrived
		f.mu.Unlock()
		if arrived != nil {
			arrived <- struct{}{}
		}
		if hold != nil {
			<-hold
		}
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		for line := range strings.Lines(cc) { // a field line each
			w.Header().Add("Cache-Control", strings.TrimSuffix(line, "\n"))
		}
		if age != "" {
			w.Header().Set("Age", age)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIssuer) publish(ks ...testKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = nil
	for _, k := range ks {
		f.published = append(f.published, k.jwk())
	}
}

func (f *fakeIssuer) publishRaw(keys ...jose.JSONWebKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = keys
}

func (f *fakeIssuer) set(mod func(f *fakeIssuer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mod(f)
}

func (f *fakeIssuer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestVerifier is a Verifier of f with a fake clock; the metadata gives
// the JWKS URL.
func newTestVerifier(t testing.TB, f *fakeIssuer, mod func(*Config)) (*Verifier, *fakeClock) {
	t.Helper()
	clk := newClock()
	cfg := Config{Issuer: testIssuer, Audience: testAudience, JWKSURL: f.srv.URL + "/jwks", Now: clk.Now, HTTPClient: f.srv.Client()}
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v, clk
}

// claims are the claims of a good token at t0.
func claims() map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "svc", "aud": testAudience, "client_id": "svc", "azp": "svc",
		"iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(), "jti": "j1", "scope": "read:sensors write:sensors",
		"gty": "client-credentials",
	}
}

// sign makes a compact JWS of c with k, typ as given.
func sign(t testing.TB, k testKey, typ string, c map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.alg), Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// with returns the good claims changed by kv pairs; a nil value deletes.
func with(kv ...any) map[string]any {
	c := claims()
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(c, k)
		} else {
			c[k] = kv[i+1]
		}
	}
	return c
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return v
}
