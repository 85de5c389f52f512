package server_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/remotekeys"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// signingKey is a client's key pair for one algorithm.
type signingKey struct {
	alg  string
	priv crypto.Signer
	kid  string // as the server computes it (RFC 7638 thumbprint)
}

var keyGen = testutil.KeyGenerator()

func newSigningKey(t testing.TB, alg string) signingKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "PS256":
		priv, err = keyGen(alg)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	kid, err := clientcred.KeyID(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{alg: alg, priv: priv, kid: kid}
}

func publicPEM(t testing.TB, k crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// sign signs claims as a JWS with k, its kid and typ in the header
// ("-" leaves the kid out).
func (k signingKey) sign(t testing.TB, claims map[string]any, kid, typ string) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	if typ == "" {
		opts = &jose.SignerOptions{}
	}
	if kid == "" {
		kid = k.kid
	}
	if kid != "-" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.alg), Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return compact(t, s, claims)
}

func compact(t testing.TB, s jose.Signer, claims map[string]any) string {
	t.Helper()
	payload, _ := json.Marshal(claims)
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

// claimsFor are valid assertion claims for the client at now.
func claimsFor(clientID, aud string, now time.Time) map[string]any {
	return map[string]any{"iss": clientID, "sub": clientID, "aud": aud, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(randomBytes(16))}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// newKeyClient creates a private_key_jwt client (no secret) granted "read",
// with k's public key registered and attached.
func (f *fixture) newKeyClient(keys ...signingKey) string {
	f.t.Helper()
	c, sec, err := f.admin.CreateClient(f.ctx, admin.ClientInput{Name: "keyed", TokenEndpointAuthMethod: storage.AuthMethodPrivateKeyJWT})
	if err != nil {
		f.t.Fatal(err)
	}
	if sec.Plain != "" || sec.ID != "" {
		f.t.Fatalf("a private_key_jwt client got a secret: %+v", sec.Secret)
	}
	if _, err := f.admin.CreateGrant(f.ctx, c.ClientID, audience, []string{"read"}); err != nil {
		f.t.Fatal(err)
	}
	for _, k := range keys {
		f.addKey(c.ClientID, k, time.Time{})
	}
	return c.ClientID
}

func (f *fixture) addKey(clientID string, k signingKey, expires time.Time) storage.Credential {
	f.t.Helper()
	cr, err := f.admin.AddCredential(f.ctx, clientID, clientcred.Input{Type: storage.CredentialPublicKey, Name: k.alg,
		PEM: publicPEM(f.t, k.priv.Public()), Alg: k.alg, ExpiresAt: expires}, true)
	if err != nil {
		f.t.Fatal(err)
	}
	if cr.KeyID != k.kid {
		f.t.Fatalf("credential kid %q, want the key's thumbprint %q", cr.KeyID, k.kid)
	}
	f.sync()
	return cr
}

func (f *fixture) assertionToken(assertion string, extra ...string) tokenResponse {
	f.t.Helper()
	kv := append([]string{"grant_type", "client_credentials", "audience", audience,
		"client_assertion_type", jwtBearer, "client_assertion", assertion}, extra...)
	return f.postForm(kv...)
}

// TestPrivateKeyJWTAlgorithms: a client with no secret authenticates over
// HTTP with an assertion signed by each algorithm, with the issuer or the
// token endpoint as audience, with or without kid, in a form or JSON body.
func TestPrivateKeyJWTAlgorithms(t *testing.T) {
	f := newFixture(t)
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k := newSigningKey(t, alg)
			id := f.newKeyClient(k)
			for _, aud := range []string{f.issuer, f.issuer + "/oauth/token"} {
				r := f.assertionToken(k.sign(t, claimsFor(id, aud, time.Now()), "", ""))
				if r.status != http.StatusOK || r.str("access_token") == "" || r.str("scope") != "read" {
					t.Fatalf("aud %s: %d %v", aud, r.status, r.raw)
				}
			}
			r := f.assertionToken(k.sign(t, claimsFor(id, f.issuer, time.Now()), "-", "client-authentication+jwt"), "client_id", id)
			if r.status != http.StatusOK {
				t.Fatalf("without kid, typed, with client_id: %d %v", r.status, r.raw)
			}
			r = f.postJSON(map[string]string{"grant_type": "client_credentials", "audience": audience, "client_assertion_type": jwtBearer,
				"client_assertion": k.sign(t, claimsFor(id, f.issuer, time.Now()), "", "JWT")})
			if r.status != http.StatusOK {
				t.Fatalf("JSON body: %d %v", r.status, r.raw)
			}
		})
	}
}

// TestPrivateKeyJWTAuth0SDKAssertion: an assertion as Auth0's Node SDK
// (node-auth0's createClientAssertionJWT) makes it, with aud
// "https://DOMAIN/" (the issuer with a trailing slash whatever the issuer's
// own spelling), RS256, no kid, no typ and exp three minutes ahead, is
// accepted: code written against Auth0 works by changing the domain.
func TestPrivateKeyJWTAuth0SDKAssertion(t *testing.T) {
	f := newFixture(t)
	if strings.HasSuffix(f.issuer, "/") {
		t.Fatalf("the fixture's issuer %q ends with a slash: the test needs one without", f.issuer)
	}
	k := newSigningKey(t, "RS256")
	id := f.newKeyClient(k)
	now := time.Now()
	claims := map[string]any{"iss": id, "sub": id, "aud": f.issuer + "/", "iat": now.Unix(), "exp": now.Unix() + 180,
		"jti": base64.RawURLEncoding.EncodeToString(randomBytes(16))}
	if r := f.assertionToken(k.sign(t, claims, "-", "")); r.status != http.StatusOK {
		t.Fatalf("the Auth0 SDK's assertion: %d %v", r.status, r.raw)
	}
}

// signEd25519 signs claims as RFC 9864's fully-specified Ed25519 JWS, as
// openid-client v6 does (go-jose has no signer for that name).
func signEd25519(t testing.TB, key ed25519.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "Ed25519", "kid": kid})
	p, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	return input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(input)))
}

// TestPrivateKeyJWTEd25519: an EdDSA credential accepts RFC 9864's
// fully-specified alg Ed25519; a signature by another key, or the name on
// an RSA credential, does not pass.
func TestPrivateKeyJWTEd25519(t *testing.T) {
	f := newFixture(t)
	k := newSigningKey(t, "EdDSA")
	id := f.newKeyClient(k)
	priv := k.priv.(ed25519.PrivateKey)
	if r := f.assertionToken(signEd25519(t, priv, k.kid, claimsFor(id, f.issuer, time.Now()))); r.status != http.StatusOK {
		t.Fatalf("Ed25519: %d %v", r.status, r.raw)
	}
	other := newSigningKey(t, "EdDSA")
	if r := f.assertionToken(signEd25519(t, other.priv.(ed25519.PrivateKey), k.kid, claimsFor(id, f.issuer, time.Now()))); r.status != http.StatusUnauthorized {
		t.Fatalf("Ed25519 by another key: %d %v", r.status, r.raw)
	}
	rsaKey := newSigningKey(t, "RS256")
	rsaID := f.newKeyClient(rsaKey)
	if r := f.assertionToken(signEd25519(t, priv, rsaKey.kid, claimsFor(rsaID, f.issuer, time.Now()))); r.status != http.StatusUnauthorized {
		t.Fatalf("Ed25519 for an RSA credential: %d %v", r.status, r.raw)
	}
}

// TestPrivateKeyJWTRefused: every assertion an attacker could forge,
// replay or bend is invalid_client (401), and so is a secret for a client
// that authenticates with keys. Written before the verifier: each case
// failed (the request was not even parsed as an assertion) before it.
func TestPrivateKeyJWTRefused(t *testing.T) {
	f := newFixture(t)
	k := newSigningKey(t, "ES256")
	id := f.newKeyClient(k)
	otherKey := newSigningKey(t, "ES256")
	otherID := f.newKeyClient(otherKey)
	expiring := newSigningKey(t, "ES256")
	f.addKey(id, expiring, time.Now().Add(2*time.Second))
	now := time.Now()
	with := func(mod func(c map[string]any)) map[string]any {
		c := claimsFor(id, f.issuer, now)
		mod(c)
		return c
	}
	pemBytes := []byte(publicPEM(t, k.priv.Public()))
	hmac, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pemBytes}, (&jose.SignerOptions{}).WithHeader("kid", k.kid))
	if err != nil {
		t.Fatal(err)
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"`+k.kid+`"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(must(json.Marshal(claimsFor(id, f.issuer, now)))) + "."
	replayed := k.sign(t, claimsFor(id, f.issuer, now), "", "")
	if r := f.assertionToken(replayed); r.status != http.StatusOK {
		t.Fatalf("first use: %d %v", r.status, r.raw)
	}
	const (
		bad     = "invalid_assertion"  // a guess: malformed, unknown key, bad signature
		claims  = "assertion_claims"   // signed by the client's key, but its claims do not hold
		replay  = "replayed_assertion" // its jti was used
		unknown = "unknown_client"
	)
	tests := []struct {
		name      string
		assertion string
		extra     []string
		reason    string
	}{
		{"expired", k.sign(t, with(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), "", ""), nil, claims},
		{"iat in the future", k.sign(t, with(func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() }), "", ""), nil, claims},
		{"nbf in the future", k.sign(t, with(func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() }), "", ""), nil, claims},
		{"exp over 5 minutes ahead", k.sign(t, with(func(c map[string]any) { c["exp"] = now.Add(6 * time.Minute).Unix() }), "", ""), nil, claims},
		{"no exp", k.sign(t, with(func(c map[string]any) { delete(c, "exp") }), "", ""), nil, claims},
		{"no jti", k.sign(t, with(func(c map[string]any) { delete(c, "jti") }), "", ""), nil, claims},
		{"wrong aud", k.sign(t, with(func(c map[string]any) { c["aud"] = "https://elsewhere.example" }), "", ""), nil, claims},
		{"aud of an API", k.sign(t, with(func(c map[string]any) { c["aud"] = audience }), "", ""), nil, claims},
		{"aud the issuer with two trailing slashes", k.sign(t, with(func(c map[string]any) { c["aud"] = f.issuer + "//" }), "", ""), nil, claims},
		{"aud the token endpoint with a trailing slash", k.sign(t, with(func(c map[string]any) { c["aud"] = f.issuer + "/oauth/token/" }), "", ""), nil, claims},
		{"two audiences", k.sign(t, with(func(c map[string]any) { c["aud"] = []string{f.issuer, "https://elsewhere.example"} }), "", ""), nil, claims},
		{"wrong iss", k.sign(t, with(func(c map[string]any) { c["iss"] = "someone" }), "", ""), nil, claims},
		{"wrong sub", k.sign(t, with(func(c map[string]any) { c["sub"] = otherID }), "", ""), nil, claims},
		{"another client's id, our key", k.sign(t, claimsFor(otherID, f.issuer, now), "-", ""), nil, bad},
		{"another client's id, our key and kid", k.sign(t, claimsFor(otherID, f.issuer, now), "", ""), nil, bad},
		{"another client's id and kid, our key", k.sign(t, claimsFor(otherID, f.issuer, now), otherKey.kid, ""), nil, bad},
		{"another client's id in client_id and sub", k.sign(t, claimsFor(otherID, f.issuer, now), "", ""), []string{"client_id", otherID}, bad},
		{"client_id in the body differs", k.sign(t, claimsFor(id, f.issuer, now), "", ""), []string{"client_id", otherID}, claims},
		{"unknown client", k.sign(t, claimsFor("nobody", f.issuer, now), "", ""), nil, unknown},
		{"replayed", replayed, nil, replay},
		{"alg none", none, nil, bad},
		{"HMAC with the public key", compact(t, hmac, claimsFor(id, f.issuer, now)), nil, bad},
		{"unknown kid", k.sign(t, claimsFor(id, f.issuer, now), "no-such-kid", ""), nil, bad},
		{"another key, our kid", otherKey.sign(t, claimsFor(id, f.issuer, now), k.kid, ""), nil, bad},
		{"another key, no kid", otherKey.sign(t, claimsFor(id, f.issuer, now), "-", ""), nil, bad},
		{"typed as an access token", k.sign(t, claimsFor(id, f.issuer, now), "", "at+jwt"), nil, bad},
		{"not a JWS", "abc.def", nil, bad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			series := `gatehouse_token_auth_failures_total{reason="` + tc.reason + `"}`
			before := f.scrape()[series]
			r := f.assertionToken(tc.assertion, tc.extra...)
			if r.status != http.StatusUnauthorized || r.str("error") != "invalid_client" {
				t.Fatalf("got %d %v, want 401 invalid_client", r.status, r.raw)
			}
			if after := f.scrape()[series]; after != before+1 {
				t.Errorf("%s went %v → %v: refused for another reason", series, before, after)
			}
			if strings.Contains(r.str("error_description"), "kid") || strings.Contains(r.str("error_description"), "aud") {
				t.Errorf("the description says which check failed: %q", r.str("error_description"))
			}
		})
	}
	t.Run("expired credential", func(t *testing.T) {
		time.Sleep(time.Until(now.Add(2100 * time.Millisecond)))
		r := f.assertionToken(expiring.sign(t, claimsFor(id, f.issuer, time.Now()), "", ""))
		if r.status != http.StatusUnauthorized {
			t.Fatalf("got %d %v", r.status, r.raw)
		}
	})
	t.Run("a secret for a key client", func(t *testing.T) {
		sec, err := f.admin.AddSecret(f.ctx, id, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.sync()
		if r := f.postForm("grant_type", "client_credentials", "audience", audience, "client_id", id, "client_secret", sec.Plain); r.status != http.StatusUnauthorized {
			t.Fatalf("got %d %v", r.status, r.raw)
		}
	})
	t.Run("disabled client", func(t *testing.T) {
		if _, err := f.admin.SetClientDisabled(f.ctx, otherID, true); err != nil {
			t.Fatal(err)
		}
		f.sync()
		if r := f.assertionToken(otherKey.sign(t, claimsFor(otherID, f.issuer, time.Now()), "", "")); r.status != http.StatusUnauthorized {
			t.Fatalf("got %d %v", r.status, r.raw)
		}
	})
	t.Run("an assertion for a secret client", func(t *testing.T) {
		if r := f.assertionToken(k.sign(t, claimsFor(f.clientID, f.issuer, time.Now()), "", "")); r.status != http.StatusUnauthorized {
			t.Fatalf("got %d %v", r.status, r.raw)
		}
	})
}

// scrape reads the server's metrics.
func (f *fixture) scrape() map[string]float64 {
	f.t.Helper()
	resp, err := f.http.Client().Get(f.http.URL + "/metrics")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	return samples(f.t, string(b))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestPrivateKeyJWTThrottle: bad signatures count as failed guesses, as
// wrong secrets do: past the limit even a good assertion from that address
// waits (429), while another client is not affected.
func TestPrivateKeyJWTThrottle(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.AuthFailureLimit, c.AuthFailureWindow = 3, time.Minute })
	k := newSigningKey(t, "ES256")
	id := f.newKeyClient(k)
	forger := newSigningKey(t, "ES256")
	for i := range 3 {
		if r := f.assertionToken(forger.sign(t, claimsFor(id, f.issuer, time.Now()), k.kid, "")); r.status != http.StatusUnauthorized {
			t.Fatalf("forgery %d: %d %v", i, r.status, r.raw)
		}
	}
	r := f.assertionToken(k.sign(t, claimsFor(id, f.issuer, time.Now()), "", ""))
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("after 3 bad signatures: %d %v, want 429", r.status, r.raw)
	}
	if r := f.postForm("grant_type", "client_credentials", "audience", audience, "client_id", f.clientID, "client_secret", f.secret); r.status != http.StatusOK {
		t.Fatalf("another client: %d %v", r.status, r.raw)
	}
}

// TestPrivateKeyJWTRotation: with a second key registered, both sign
// valid assertions; the old one removed, only the new one does; no request
// of the client fails on the way.
func TestPrivateKeyJWTRotation(t *testing.T) {
	f := newFixture(t)
	old := newSigningKey(t, "RS256")
	id := f.newKeyClient(old)
	oldCred, err := f.admin.ListCredentials(f.ctx, id)
	if err != nil || len(oldCred) != 1 {
		t.Fatal(oldCred, err)
	}
	var mu sync.Mutex
	current := old
	stop := make(chan struct{})
	var wg sync.WaitGroup
	failures := 0
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			k := current
			mu.Unlock()
			if r := f.assertionToken(k.sign(t, claimsFor(id, f.issuer, time.Now()), "", "")); r.status != http.StatusOK {
				mu.Lock()
				failures++
				mu.Unlock()
			}
		}
	})
	next := newSigningKey(t, "ES256")
	f.addKey(id, next, time.Time{}) // 1. add the new key: both valid
	if r := f.assertionToken(old.sign(t, claimsFor(id, f.issuer, time.Now()), "", "")); r.status != http.StatusOK {
		t.Fatalf("old key with two registered: %d", r.status)
	}
	mu.Lock()
	current = next // 2. switch the client
	mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	if err := f.admin.DeleteCredential(f.ctx, id, oldCred[0].ID, true); err != nil { // 3. remove the old key
		t.Fatal(err)
	}
	f.sync()
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failures != 0 {
		t.Fatalf("%d requests failed during the rotation", failures)
	}
	if r := f.assertionToken(old.sign(t, claimsFor(id, f.issuer, time.Now()), "", "")); r.status != http.StatusUnauthorized {
		t.Fatalf("the removed key still authenticates: %d", r.status)
	}
}

// TestPrivateKeyJWTJWKSURI: a client that publishes its keys at a
// jwks_uri authenticates with them; when it replaces its key, the new kid
// makes the server fetch again (rate-limited), and the removed key stops
// working once the set is fetched again.
func TestPrivateKeyJWTJWKSURI(t *testing.T) {
	var mu sync.Mutex
	var set jose.JSONWebKeySet
	publish := func(keys ...signingKey) {
		mu.Lock()
		defer mu.Unlock()
		set.Keys = nil
		for _, k := range keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"})
		}
	}
	jwks := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer jwks.Close()
	opts := fixtureOptions()
	opts.RemoteKeys = remotekeys.Config{Client: jwks.Client(), MinRefetch: time.Millisecond, TTL: time.Hour}
	f := setupFixture(t, opts, true)
	k1, k2 := newSigningKey(t, "ES256"), newSigningKey(t, "EdDSA")
	publish(k1)
	c, _, err := f.admin.CreateClient(f.ctx, admin.ClientInput{Name: "published", JWKSURI: jwks.URL + "/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenEndpointAuthMethod != storage.AuthMethodPrivateKeyJWT {
		t.Fatalf("auth method %q", c.TokenEndpointAuthMethod)
	}
	if _, err := f.admin.CreateGrant(f.ctx, c.ClientID, audience, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	f.sync()
	if r := f.assertionToken(k1.sign(t, claimsFor(c.ClientID, f.issuer, time.Now()), "", "")); r.status != http.StatusOK {
		t.Fatalf("k1: %d %v", r.status, r.raw)
	}
	publish(k2)
	time.Sleep(5 * time.Millisecond)
	if r := f.assertionToken(k2.sign(t, claimsFor(c.ClientID, f.issuer, time.Now()), "", "")); r.status != http.StatusOK {
		t.Fatalf("k2 after the JWKS changed: %d %v", r.status, r.raw)
	}
	if r := f.assertionToken(k1.sign(t, claimsFor(c.ClientID, f.issuer, time.Now()), "", "")); r.status != http.StatusUnauthorized {
		t.Fatalf("k1 after it left the JWKS: %d %v", r.status, r.raw)
	}
	if _, _, err := f.admin.CreateClient(f.ctx, admin.ClientInput{Name: "plain http", JWKSURI: "http://example.com/jwks"}); err == nil {
		t.Fatal("an http jwks_uri was accepted")
	}
}

// TestPrivateKeyJWTReplayAcrossInstances: an assertion used at one
// instance is refused at another that shares the database (the unique
// INSERT of its jti), though the second has never seen it.
func TestPrivateKeyJWTReplayAcrossInstances(t *testing.T) {
	f := newFixture(t)
	k := newSigningKey(t, "ES256")
	id := f.newKeyClient(k)
	cfg := config.Default()
	cfg.DB, cfg.Issuer = f.db, f.issuer
	second, err := server.New(f.ctx, cfg, f.store, f.masterKey, server.Options{GenerateKey: testutil.KeyGenerator()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(second.Handler())
	defer ts.Close()
	a := k.sign(t, claimsFor(id, f.issuer, time.Now()), "", "")
	if r := f.assertionToken(a); r.status != http.StatusOK {
		t.Fatalf("first instance: %d %v", r.status, r.raw)
	}
	resp, err := http.Post(ts.URL+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form2(
		"grant_type", "client_credentials", "audience", audience, "client_assertion_type", jwtBearer, "client_assertion", a)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("second instance answered %d to a replay", resp.StatusCode)
	}
}

// TestDiscoveryPrivateKeyJWT: discovery lists private_key_jwt and the
// algorithms an assertion may use, never none or HMAC.
func TestDiscoveryPrivateKeyJWT(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.http.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
		Algs    []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(m.Methods, " "), "private_key_jwt") || strings.Join(m.Algs, " ") != "RS256 RS384 PS256 ES256 EdDSA Ed25519" {
		t.Fatalf("metadata %+v", m)
	}
}

// kmsKey is a crypto.Signer that is not one of the standard key types,
// as a key held in a KMS or HSM is.
type kmsKey struct{ crypto.Signer }

// TestClientSourcePrivateKeyJWT: the public client package authenticates
// with private_key_jwt against a real server, with an in-memory key, a
// PEM file, and an opaque crypto.Signer, for every algorithm; its kid
// defaults to the thumbprint the server shows; a key the server does not
// know fails with invalid_client.
func TestClientSourcePrivateKeyJWT(t *testing.T) {
	f := newFixture(t)
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		k := newSigningKey(t, alg)
		id := f.newKeyClient(k)
		der, err := x509.MarshalPKCS8PrivateKey(k.priv)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "key.pem")
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		for name, cfg := range map[string]client.Config{
			"signer": {PrivateKey: k.priv, SigningAlg: alg},
			"file":   {PrivateKeyFile: file, SigningAlg: alg},
			"opaque": {PrivateKey: kmsKey{k.priv}, SigningAlg: alg, KeyID: k.kid},
		} {
			t.Run(alg+"/"+name, func(t *testing.T) {
				cfg.Issuer, cfg.ClientID, cfg.Audience, cfg.HTTPClient = f.issuer, id, audience, f.http.Client()
				src, err := client.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				tok, err := src.Token()
				if err != nil || tok.AccessToken == "" {
					t.Fatalf("Token: %v", err)
				}
			})
		}
	}
	stranger := newSigningKey(t, "ES256")
	id := f.newKeyClient(newSigningKey(t, "ES256"))
	src, err := client.New(client.Config{Issuer: f.issuer, ClientID: id, Audience: audience, HTTPClient: f.http.Client(), PrivateKey: stranger.priv})
	if err != nil {
		t.Fatal(err)
	}
	var oe *client.Error
	if _, err := src.Token(); !errors.As(err, &oe) || oe.Code != "invalid_client" {
		t.Fatalf("an unknown key: %v, want invalid_client", err)
	}
}
