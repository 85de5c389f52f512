package federation_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/federation"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

const (
	gatehouse = "https://auth.example.com/"
	repo      = "acme/deploy"
	mainRef   = "refs/heads/main"
)

// fixture is a Verifier that trusts one stand-in issuer, on a clock that
// the test moves.
type fixture struct {
	iss     *testutil.Issuer
	v       *federation.Verifier
	now     time.Time
	mu      sync.Mutex
	fetches atomic.Int64
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{now: time.Now().Truncate(time.Second)}
	f.iss, _ = testutil.NewIssuer(t, false)
	f.v = federation.New(federation.Config{
		Audience: gatehouse, InsecureHTTP: true, Now: f.clock,
		Fetched: func() { f.fetches.Add(1) },
	})
	return f
}

func (f *fixture) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fixture) k8s(mod func(map[string]any)) map[string]any {
	c := testutil.KubernetesClaims(f.iss.URL, gatehouse, "payments", "billing", f.clock())
	if mod != nil {
		mod(c)
	}
	return c
}

func (f *fixture) github(mod func(map[string]any)) map[string]any {
	c := testutil.GitHubClaims(f.iss.URL, gatehouse, repo, mainRef, f.clock())
	if mod != nil {
		mod(c)
	}
	return c
}

func k8sCred(iss string) storage.FederatedCredential {
	return storage.FederatedCredential{ID: "fk", ClientID: "c1", Issuer: iss, Subject: "system:serviceaccount:payments:billing"}
}

func ghCred(iss string) storage.FederatedCredential {
	return storage.FederatedCredential{ID: "fg", ClientID: "c1", Issuer: iss, Subject: "repo:" + repo + ":ref:" + mainRef,
		Claims: map[string]string{"repository_owner": "acme", "event_name": "push"}}
}

func failure(t *testing.T, err error) string {
	t.Helper()
	var f *federation.Failure
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T), want a *federation.Failure", err, err)
	}
	return f.Check
}

// TestVerifyRefuses: every token that must not become the client, each
// refused by the check the log will name. Written before Verify.
func TestVerifyRefuses(t *testing.T) {
	f := newFixture(t)
	other, _ := testutil.NewIssuer(t, false) // a second issuer with a key of its own
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(f.iss.Key.Public())
	set := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	now := f.clock()
	k8s, gh := k8sCred(f.iss.URL), ghCred(f.iss.URL)
	withClaims := func(fc storage.FederatedCredential, claims map[string]string) storage.FederatedCredential {
		fc.Claims = claims
		return fc
	}
	withAud := func(fc storage.FederatedCredential, aud string) storage.FederatedCredential {
		fc.Audience = aud
		return fc
	}
	withCap := func(fc storage.FederatedCredential, d time.Duration) storage.FederatedCredential {
		fc.MaxLifetime = d
		return fc
	}
	cases := []struct {
		name  string
		cred  storage.FederatedCredential
		token string
		want  string
	}{
		{"wrong subject (another service account)", k8s,
			f.iss.Sign(t, testutil.KubernetesClaims(f.iss.URL, gatehouse, "payments", "intruder", now)), federation.FailSubject},
		{"wrong subject (another namespace)", k8s,
			f.iss.Sign(t, testutil.KubernetesClaims(f.iss.URL, gatehouse, "default", "billing", now)), federation.FailSubject},
		{"wrong subject (another branch)", gh,
			f.iss.Sign(t, testutil.GitHubClaims(f.iss.URL, gatehouse, repo, "refs/heads/evil", now)), federation.FailSubject},
		{"subject that only starts like the credential's", k8s,
			f.iss.Sign(t, f.k8s(set("sub", "system:serviceaccount:payments:billing-2"))), federation.FailSubject},
		{"wrong audience", k8s, f.iss.Sign(t, f.k8s(set("aud", []string{"https://other.example.com/"}))), federation.FailAudience},
		{"no audience", k8s, f.iss.Sign(t, f.k8s(func(c map[string]any) { delete(c, "aud") })), federation.FailAudience},
		{"the default audience where the credential names another", withAud(k8s, "sts.example.com"), f.iss.Sign(t, f.k8s(nil)), federation.FailAudience},
		{"wrong issuer in the token", k8s, f.iss.Sign(t, f.k8s(set("iss", "https://evil.example.com"))), federation.FailIssuer},
		{"issuer spelled with a trailing slash", k8s, f.iss.Sign(t, f.k8s(set("iss", f.iss.URL+"/"))), federation.FailIssuer},
		{"another issuer's key under the trusted iss", k8s, other.Sign(t, f.k8s(nil)), federation.FailSignature},
		{"claim condition (another owner)", gh, f.iss.Sign(t, f.github(set("repository_owner", "evil"))), federation.FailClaims},
		{"claim condition (missing claim)", gh, f.iss.Sign(t, f.github(func(c map[string]any) { delete(c, "event_name") })), federation.FailClaims},
		{"claim condition (an object where a string is wanted)", withClaims(k8s, map[string]string{"kubernetes.io/pod": "x"}), f.iss.Sign(t, f.k8s(nil)), federation.FailClaims},
		{"nested claim condition", withClaims(k8s, map[string]string{"kubernetes.io/namespace": "default"}), f.iss.Sign(t, f.k8s(nil)), federation.FailClaims},
		{"expired", k8s, f.iss.Sign(t, f.k8s(set("exp", now.Add(-time.Minute).Unix()))), federation.FailExpiry},
		{"no exp", k8s, f.iss.Sign(t, f.k8s(func(c map[string]any) { delete(c, "exp") })), federation.FailExpiry},
		{"not yet valid (nbf)", k8s, f.iss.Sign(t, f.k8s(set("nbf", now.Add(2*time.Minute).Unix()))), federation.FailNotBefore},
		{"issued in the future (iat)", k8s, f.iss.Sign(t, f.k8s(set("iat", now.Add(2*time.Minute).Unix()))), federation.FailNotBefore},
		{"remaining lifetime over the default cap", k8s,
			f.iss.Sign(t, f.k8s(set("exp", now.Add(365*24*time.Hour).Unix()))), federation.FailMaxLifetime},
		{"remaining lifetime over the credential's cap", withCap(k8s, 10*time.Minute), f.iss.Sign(t, f.k8s(nil)), federation.FailMaxLifetime},
		{"alg none", k8s, none(t, f.k8s(nil)), federation.FailMalformed},
		{"HS256 keyed with the issuer's public key", k8s,
			testutil.SignJWT(t, jose.HS256, pubDER, f.iss.KID, f.k8s(nil)), federation.FailMalformed},
		{"ES256 under the kid of the RSA key", k8s, testutil.SignJWT(t, jose.ES256, ecKey, f.iss.KID, f.k8s(nil)), federation.FailSignature},
		{"unknown kid", k8s, testutil.SignJWT(t, jose.RS256, f.iss.Key, "made-up", f.k8s(nil)), federation.FailSignature},
		{"signature altered", k8s, f.iss.Sign(t, f.k8s(nil))[:len(f.iss.Sign(t, f.k8s(nil)))-4] + "AAAA", federation.FailSignature},
		{"not a JWT", k8s, "not-a-jwt", federation.FailMalformed},
		{"too large", k8s, f.iss.Sign(t, f.k8s(set("pad", string(make([]byte, federation.MaxAssertionBytes))))), federation.FailMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc, err := f.v.Verify(t.Context(), []storage.FederatedCredential{tc.cred}, tc.token)
			if err == nil {
				t.Fatalf("Verify accepted the token as credential %s", fc.ID)
			}
			if got := failure(t, err); got != tc.want {
				t.Errorf("failed check %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
}

// none returns claims as an unsigned JWT (alg none, RFC 7519 §6).
func none(t *testing.T, claims map[string]any) string {
	t.Helper()
	tok := testutil.SignJWT(t, jose.RS256, testutilKey(t), "", claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + splitPayload(tok) + "."
}

func testutilKey(t *testing.T) any {
	k, err := testutil.KeyGenerator()("RS256")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func splitPayload(tok string) string {
	start := -1
	for i := range tok {
		if tok[i] == '.' {
			if start >= 0 {
				return tok[start+1 : i]
			}
			start = i
		}
	}
	return ""
}

// TestVerifyAccepts: Kubernetes and GitHub Actions tokens of the right
// workload become the client, through exact subjects and patterns, nested
// claim conditions, within the leeway.
func TestVerifyAccepts(t *testing.T) {
	f := newFixture(t)
	now := f.clock()
	k8s, gh := k8sCred(f.iss.URL), ghCred(f.iss.URL)
	pattern := k8s
	pattern.ID, pattern.Subject, pattern.Claims = "fp", "system:serviceaccount:payments:*", map[string]string{"kubernetes.io/namespace": "payments"}
	branches := gh
	branches.ID, branches.Subject = "fb", "repo:"+repo+":ref:refs/heads/*"
	own := k8s
	own.ID, own.Audience = "fa", "sts.example.com"
	cases := []struct {
		name  string
		creds []storage.FederatedCredential
		token string
		want  string
	}{
		{"kubernetes, exact subject", []storage.FederatedCredential{gh, k8s}, f.iss.Sign(t, f.k8s(nil)), "fk"},
		{"github, exact subject and claims", []storage.FederatedCredential{k8s, gh}, f.iss.Sign(t, f.github(nil)), "fg"},
		{"kubernetes, any service account of the namespace", []storage.FederatedCredential{pattern},
			f.iss.Sign(t, testutil.KubernetesClaims(f.iss.URL, gatehouse, "payments", "reports", now)), "fp"},
		{"github, any branch", []storage.FederatedCredential{branches},
			f.iss.Sign(t, testutil.GitHubClaims(f.iss.URL, gatehouse, repo, "refs/heads/feature/x", now)), "fb"},
		{"an audience of the credential's own", []storage.FederatedCredential{own},
			f.iss.Sign(t, testutil.KubernetesClaims(f.iss.URL, "sts.example.com", "payments", "billing", now)), "fa"},
		{"the second credential of the issuer matches", []storage.FederatedCredential{own, k8s}, f.iss.Sign(t, f.k8s(nil)), "fk"},
		{"expired within the leeway", []storage.FederatedCredential{k8s},
			f.iss.Sign(t, f.k8s(func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() })), "fk"},
		{"nbf within the leeway", []storage.FederatedCredential{k8s},
			f.iss.Sign(t, f.k8s(func(c map[string]any) { c["nbf"] = now.Add(10 * time.Second).Unix() })), "fk"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc, err := f.v.Verify(t.Context(), tc.creds, tc.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if fc.ID != tc.want {
				t.Errorf("credential %s, want %s", fc.ID, tc.want)
			}
		})
	}
	// A cluster whose service-account key is P-384 signs ES384.
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	f.iss.SetKeys(jose.JSONWebKey{Key: f.iss.Key.Public(), KeyID: f.iss.KID, Algorithm: "RS256"},
		jose.JSONWebKey{Key: p384.Public(), KeyID: "p384", Algorithm: "ES384"})
	f.advance(federation.RefetchInterval)
	if _, err := f.v.Verify(t.Context(), []storage.FederatedCredential{k8s}, testutil.SignJWT(t, jose.ES384, p384, "p384", f.k8s(nil))); err != nil {
		t.Errorf("ES384: %v", err)
	}
	// A pattern does not reach into the next field of the subject.
	if _, err := f.v.Verify(t.Context(), []storage.FederatedCredential{branches},
		f.iss.Sign(t, testutil.GitHubClaims(f.iss.URL, gatehouse, repo+":ref:refs/heads/main:x", mainRef, now))); err == nil {
		t.Error("a subject with more fields matched the pattern")
	}
}

// TestUnconfiguredIssuerNeverFetched: a token naming an issuer that no
// credential of the client trusts costs that issuer no request, whatever
// its kid and however often it comes; a trusted issuer is fetched once
// (discovery and JWKS) and then served from memory.
func TestUnconfiguredIssuerNeverFetched(t *testing.T) {
	f := newFixture(t)
	stranger, _ := testutil.NewIssuer(t, false)
	creds := []storage.FederatedCredential{k8sCred(f.iss.URL)}
	for i := range 20 {
		tok := stranger.Sign(t, testutil.KubernetesClaims(stranger.URL, gatehouse, "payments", "billing", f.clock()))
		if i%2 == 1 {
			tok = testutil.SignJWT(t, jose.RS256, stranger.Key, "kid-"+string(rune('a'+i)), testutil.KubernetesClaims(stranger.URL, gatehouse, "payments", "billing", f.clock()))
		}
		if _, err := f.v.Verify(t.Context(), creds, tok); failure(t, err) != federation.FailIssuer {
			t.Fatalf("stranger's token: %v", err)
		}
	}
	if n := stranger.Requests(); n != 0 {
		t.Errorf("the unconfigured issuer was asked %d times, want 0", n)
	}
	for range 5 {
		if _, err := f.v.Verify(t.Context(), creds, f.iss.Sign(t, f.k8s(nil))); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.iss.Requests(); n != 2 {
		t.Errorf("the trusted issuer served %d requests for 5 tokens, want 2 (discovery, JWKS)", n)
	}
}

// TestKeyFetchingBounds: unknown kids refetch at most once per
// RefetchInterval; a rotated key is found after that; expired keys are
// fetched again; concurrent first requests share one fetch; an issuer down
// after a success keeps serving its last keys; plain http is refused
// without InsecureHTTP; https works with the issuer's TLS client.
func TestKeyFetchingBounds(t *testing.T) {
	f := newFixture(t)
	creds := []storage.FederatedCredential{k8sCred(f.iss.URL)}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := f.v.Verify(t.Context(), creds, f.iss.Sign(t, f.k8s(nil))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n, reqs := f.fetches.Load(), f.iss.Requests(); n != 1 || reqs != 2 {
		t.Fatalf("8 concurrent first requests made %d discovery fetches and %d requests, want 1 and 2 (discovery, JWKS)", n, reqs)
	}

	// Rotation: the issuer publishes a new key and signs with it; the
	// unknown kid is fetched for once RefetchInterval has passed since the
	// last fetch, and made-up kids cost nothing more.
	newKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.iss.SetKeys(jose.JSONWebKey{Key: f.iss.Key.Public(), KeyID: f.iss.KID, Algorithm: "RS256"},
		jose.JSONWebKey{Key: newKey.Public(), KeyID: "stand-in-2", Algorithm: "ES256"})
	rotated := func() string { return testutil.SignJWT(t, jose.ES256, newKey, "stand-in-2", f.k8s(nil)) }
	f.advance(2 * time.Second)
	if _, err := f.v.Verify(t.Context(), creds, rotated()); failure(t, err) != federation.FailSignature {
		t.Errorf("a new kid within RefetchInterval of the last fetch: %v", err)
	}
	f.advance(federation.RefetchInterval)
	if _, err := f.v.Verify(t.Context(), creds, rotated()); err != nil {
		t.Fatalf("the new kid after RefetchInterval: %v", err)
	}
	for range 10 {
		_, _ = f.v.Verify(t.Context(), creds, testutil.SignJWT(t, jose.ES256, newKey, "made-up", f.k8s(nil)))
	}
	if n := f.iss.Requests(); n != 3 {
		t.Errorf("requests after a new kid and 10 made-up ones = %d, want 3 (the JWKS once more)", n)
	}

	// Expiry: after KeysTTL the discovery document and the keys are
	// fetched again.
	f.advance(federation.KeysTTL + time.Second)
	if _, err := f.v.Verify(t.Context(), creds, f.iss.Sign(t, f.k8s(nil))); err != nil {
		t.Fatal(err)
	}
	if n, reqs := f.fetches.Load(), f.iss.Requests(); n != 2 || reqs != 5 {
		t.Errorf("after the keys expired: %d discovery fetches and %d requests, want 2 and 5", n, reqs)
	}

	// Plain http is refused without InsecureHTTP, and never fetched.
	strict := federation.New(federation.Config{Audience: gatehouse, Now: f.clock})
	before := f.iss.Requests()
	if _, err := strict.Verify(t.Context(), creds, f.iss.Sign(t, f.k8s(nil))); failure(t, err) != federation.FailKeys {
		t.Errorf("an http issuer without InsecureHTTP: %v", err)
	}
	if f.iss.Requests() != before {
		t.Error("an http issuer was fetched without InsecureHTTP")
	}

	// https with the issuer's certificate trusted.
	secure, client := testutil.NewIssuer(t, true)
	v := federation.New(federation.Config{Audience: gatehouse, Client: client})
	if _, err := v.Verify(t.Context(), []storage.FederatedCredential{k8sCred(secure.URL)},
		secure.Sign(t, testutil.KubernetesClaims(secure.URL, gatehouse, "payments", "billing", time.Now()))); err != nil {
		t.Errorf("https issuer: %v", err)
	}
}

// TestIssuerDown: a trusted issuer that stops answering keeps its last keys
// for MaxStale past their expiry, and a failed fetch is not retried within
// RefetchInterval.
func TestIssuerDown(t *testing.T) {
	f := newFixture(t)
	creds := []storage.FederatedCredential{k8sCred(f.iss.URL)}
	if _, err := f.v.Verify(t.Context(), creds, f.iss.Sign(t, f.k8s(nil))); err != nil {
		t.Fatal(err)
	}
	f.iss.SetDown(true)
	f.advance(federation.KeysTTL + time.Second)
	if _, err := f.v.Verify(t.Context(), creds, f.iss.Sign(t, f.k8s(nil))); err != nil {
		t.Errorf("stale keys within MaxStale: %v", err)
	}
	n := f.fetches.Load()
	for range 5 {
		_, _ = f.v.Verify(t.Context(), creds, f.iss.Sign(t, f.k8s(nil)))
	}
	if f.fetches.Load() != n {
		t.Errorf("fetches retried within RefetchInterval: %d, want %d", f.fetches.Load(), n)
	}
	f.advance(federation.MaxStale)
	if _, err := f.v.Verify(t.Context(), creds, f.iss.Sign(t, f.k8s(nil))); failure(t, err) != federation.FailKeys {
		t.Errorf("keys past MaxStale with the issuer down: %v", err)
	}
}

// TestLoopbackIssuerNeverDialled: an https issuer on a loopback address,
// which CheckIssuer lets an administrator register, is never connected to
// unless InsecureHTTP (--dev) allows loopback: the default client refuses
// the address as it dials (remotekeys.NewClient), so a credential cannot
// turn gatehouse against its own host's services.
func TestLoopbackIssuerNeverDialled(t *testing.T) {
	addr, accepted := testutil.CountingListener(t)
	iss := "https://" + addr
	if err := federation.CheckIssuer(iss); err != nil {
		t.Fatalf("CheckIssuer(%s): %v", iss, err)
	}
	f := newFixture(t)
	token := f.iss.Sign(t, testutil.KubernetesClaims(iss, gatehouse, "payments", "billing", time.Now()))
	v := federation.New(federation.Config{Audience: gatehouse})
	if _, err := v.Verify(t.Context(), []storage.FederatedCredential{k8sCred(iss)}, token); failure(t, err) != federation.FailKeys {
		t.Fatalf("a loopback issuer: %v", err)
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the loopback issuer was dialled %d times", n)
	}
}
