package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/dpop"
	"github.com/gatehouse-dev/gatehouse/dpop/dpoptest"
	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func newDPoPKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newProofSigner(t testing.TB, k *ecdsa.PrivateKey) *dpop.Signer {
	t.Helper()
	s, err := dpop.NewSigner(k, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withProof posts a client-credentials request carrying the DPoP headers
// given (none, one or several).
func (f *fixture) withProof(proofs []string, kv ...string) tokenResponse {
	f.t.Helper()
	if len(kv) == 0 {
		kv = []string{"grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", audience}
	}
	return f.do(http.MethodPost, "", "application/x-www-form-urlencoded", form(kv...), func(r *http.Request) {
		for _, p := range proofs {
			r.Header.Add("DPoP", p)
		}
	})
}

func (f *fixture) tokenURL() string { return f.issuer + "/oauth/token" }

// TestDPoPClientCredentials: a proof binds the token (cnf.jkt, token_type
// DPoP); every proof an attacker could bring instead is refused with
// invalid_dpop_proof, and no token is issued. Written before the feature:
// today's endpoint ignored the DPoP header and issued bearer tokens.
func TestDPoPClientCredentials(t *testing.T) {
	f := newFixture(t)
	key := newDPoPKey(t)
	s := newProofSigner(t, key)
	proof, err := s.Proof("POST", f.tokenURL(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	r := f.withProof([]string{proof})
	if r.status != 200 || r.str("token_type") != "DPoP" {
		t.Fatalf("bound token: %d %v", r.status, r.raw)
	}
	if _, c := f.verify(r.str("access_token")); c["cnf"] == nil || c["cnf"].(map[string]any)["jkt"] != s.JKT() {
		t.Errorf("cnf = %v, want jkt %s", c["cnf"], s.JKT())
	}
	// The same proof again is a replay.
	if r := f.withProof([]string{proof}); r.status != 400 || r.str("error") != "invalid_dpop_proof" || !strings.Contains(r.str("error_description"), "already used") {
		t.Errorf("replayed proof: %d %v", r.status, r.raw)
	}
	// Without a proof the client still gets a bearer token.
	if r := f.withProof(nil); r.status != 200 || r.str("token_type") != "Bearer" {
		t.Errorf("bearer: %d %v", r.status, r.raw)
	}
	if _, c := f.verify(f.withProof(nil).str("access_token")); c["cnf"] != nil {
		t.Errorf("a bearer token has cnf %v", c["cnf"])
	}

	now := time.Now()
	header := map[jose.HeaderKey]any{"typ": dpop.TypeProof, "jwk": jose.JSONWebKey{Key: &key.PublicKey}}
	good := func(over map[string]any) string {
		return dpoptest.Forge(t, jose.ES256, key, header, dpoptest.Claims("POST", f.tokenURL(), now, over))
	}
	fresh, _ := s.Proof("POST", f.tokenURL(), "", "")
	refused := []struct {
		name   string
		proofs []string
		desc   string
	}{
		{"another method", []string{good(map[string]any{"htm": "GET"})}, "another HTTP method"},
		{"another URL", []string{good(map[string]any{"htu": f.issuer + "/oauth/revoke"})}, "another URL"},
		{"another server", []string{good(map[string]any{"htu": "https://as.example/oauth/token"})}, "another URL"},
		{"stale iat", []string{good(map[string]any{"iat": now.Add(-10 * time.Minute).Unix()})}, "too old"},
		{"future iat", []string{good(map[string]any{"iat": now.Add(10 * time.Minute).Unix()})}, "in the future"},
		{"alg none", []string{dpoptest.Unsigned(t, jose.JSONWebKey{Key: &key.PublicKey}, dpoptest.Claims("POST", f.tokenURL(), now, nil))}, "algorithm"},
		{"HMAC", []string{dpoptest.Forge(t, jose.HS256, []byte(strings.Repeat("k", 32)), header, dpoptest.Claims("POST", f.tokenURL(), now, nil))}, "algorithm"},
		{"private key in jwk", []string{dpoptest.Forge(t, jose.ES256, key, map[jose.HeaderKey]any{"typ": dpop.TypeProof, "jwk": jose.JSONWebKey{Key: key}},
			dpoptest.Claims("POST", f.tokenURL(), now, nil))}, "public"},
		{"wrong typ", []string{dpoptest.Forge(t, jose.ES256, key, map[jose.HeaderKey]any{"typ": "JWT", "jwk": jose.JSONWebKey{Key: &key.PublicKey}},
			dpoptest.Claims("POST", f.tokenURL(), now, nil))}, "typ"},
		{"two proofs", []string{fresh, good(nil)}, "more than one"},
		{"garbage", []string{"not-a-jwt"}, "malformed"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r := f.withProof(tt.proofs)
			if r.status != 400 || r.str("error") != "invalid_dpop_proof" || !strings.Contains(r.str("error_description"), tt.desc) || r.str("access_token") != "" {
				t.Errorf("%d %v, want 400 invalid_dpop_proof about %q", r.status, r.raw, tt.desc)
			}
		})
	}
}

// TestProofOfPossessionRequired: an API's proof_of_possession.required and
// a client's require_proof_of_possession refuse a bearer request; a proof
// makes it pass. Failed before the feature: the settings were refused by
// the management API, and bearer tokens were issued to everyone.
func TestProofOfPossessionRequired(t *testing.T) {
	f := newFixture(t)
	s := newProofSigner(t, newDPoPKey(t))
	bound := func() tokenResponse {
		p, err := s.Proof("POST", f.tokenURL(), "", "")
		if err != nil {
			t.Fatal(err)
		}
		return f.withProof([]string{p})
	}
	required := func(what string) {
		t.Helper()
		if r := f.withProof(nil); r.status != 400 || r.str("error") != "invalid_request" || !strings.Contains(r.str("error_description"), what) {
			t.Errorf("bearer request: %d %v, want 400 invalid_request about %q", r.status, r.raw, what)
		}
		if r := bound(); r.status != 200 || r.str("token_type") != "DPoP" {
			t.Errorf("bound request: %d %v", r.status, r.raw)
		}
	}
	pop := func(p storage.ProofOfPossession) {
		if _, err := f.admin.UpdateAPI(f.ctx, audience, admin.APIPatch{ProofOfPossession: &p}); err != nil {
			t.Fatal(err)
		}
		f.sync()
	}
	pop(storage.ProofOfPossession{Mechanism: storage.PoPDPoP, Required: true})
	required("requires DPoP-bound access tokens")

	// Required for public clients only: this confidential client may
	// still get bearer tokens.
	pop(storage.ProofOfPossession{Mechanism: storage.PoPDPoP, Required: true, RequiredFor: storage.PoPPublicClients})
	if r := f.withProof(nil); r.status != 200 || r.str("token_type") != "Bearer" {
		t.Errorf("public_clients only: %d %v", r.status, r.raw)
	}
	// mTLS binding required, and the request has no client certificate:
	// refused, DPoP-bound or not.
	pop(storage.ProofOfPossession{Mechanism: storage.PoPMTLS, Required: true})
	for _, r := range []tokenResponse{f.withProof(nil), bound()} {
		if r.status != 400 || !strings.Contains(r.str("error_description"), "certificate-bound") {
			t.Errorf("mtls required: %d %v", r.status, r.raw)
		}
	}
	pop(storage.ProofOfPossession{})

	on := true
	if _, err := f.admin.UpdateClient(f.ctx, f.clientID, admin.ClientPatch{RequireProofOfPossession: &on}); err != nil {
		t.Fatal(err)
	}
	f.sync()
	required("the client requires proof of possession")
}

// TestDPoPNonce: with --dpop-nonce a proof without the server's nonce is
// answered use_dpop_nonce with the nonce in DPoP-Nonce; the retry with it
// passes and its answer carries the nonce to use next (RFC 9449 §8).
func TestDPoPNonce(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.DPoPNonce = true })
	s := newProofSigner(t, newDPoPKey(t))
	p, _ := s.Proof("POST", f.tokenURL(), "", "")
	r := f.withProof([]string{p})
	nonce := r.header.Get("DPoP-Nonce")
	if r.status != 400 || r.str("error") != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("no nonce: %d %v nonce %q", r.status, r.raw, nonce)
	}
	p, _ = s.Proof("POST", f.tokenURL(), "", "made-up")
	if r := f.withProof([]string{p}); r.status != 400 || r.str("error") != "use_dpop_nonce" {
		t.Errorf("made-up nonce: %d %v", r.status, r.raw)
	}
	p, _ = s.Proof("POST", f.tokenURL(), "", nonce)
	r = f.withProof([]string{p})
	if r.status != 200 || r.str("token_type") != "DPoP" || r.header.Get("DPoP-Nonce") == "" {
		t.Fatalf("with the nonce: %d %v", r.status, r.raw)
	}
	// A bearer request needs no nonce and gets none.
	if r := f.withProof(nil); r.status != 200 || r.header.Get("DPoP-Nonce") != "" {
		t.Errorf("bearer: %d %v %v", r.status, r.raw, r.header)
	}
	var meta struct {
		Algs []string `json:"dpop_signing_alg_values_supported"`
	}
	getJSON(t, f, "/.well-known/openid-configuration", &meta)
	if strings.Join(meta.Algs, " ") != "ES256 PS256 RS256 EdDSA" {
		t.Errorf("dpop_signing_alg_values_supported = %v", meta.Algs)
	}
}

// tokenWithProof posts a token request with a DPoP proof of s (none when
// s is nil).
func (f *loginFixture) tokenWithProof(s *dpop.Signer, v url.Values) tokenReply {
	f.t.Helper()
	u := strings.TrimRight(f.issuer, "/") + "/oauth/token"
	req, err := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s != nil {
		s.Now = f.clock
		p, err := s.Proof("POST", u, "", "")
		if err != nil {
			f.t.Fatal(err)
		}
		req.Header.Set("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	out := tokenReply{status: resp.StatusCode, body: map[string]string{}, header: resp.Header}
	for k, val := range raw {
		str, _ := val.(string)
		out.body[k] = str
	}
	return out
}

// TestDPoPRefreshTokenBinding: a public client's refresh token obtained
// with a proof is bound to the proof's key (RFC 9449 §5): used without a
// proof, or with another key's, it is refused and stays usable by the
// holder of the key, whose access tokens stay bound. A confidential
// client's refresh token is not bound (its secret binds it). Failed before
// the feature: the refresh token worked for anyone who had it.
func TestDPoPRefreshTokenBinding(t *testing.T) {
	f := newLoginFixture(t)
	owner, thief := newProofSigner(t, newDPoPKey(t)), newProofSigner(t, newDPoPKey(t))
	code := f.code(f.spa.ClientID, spaCB, "openid offline_access read")
	r := f.tokenWithProof(owner, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {spaCB},
		"code_verifier": {pkceVerifier}, "client_id": {f.spa.ClientID}})
	if r.status != 200 || r.body["token_type"] != "DPoP" || r.body["refresh_token"] == "" {
		t.Fatalf("code exchange: %d %v", r.status, r.body)
	}
	if cnf, _ := claims(t, r.body["access_token"])["cnf"].(map[string]any); cnf["jkt"] != owner.JKT() {
		t.Errorf("access token cnf %v, want jkt %s", cnf, owner.JKT())
	}
	// The bound token at /userinfo: refused as Bearer, good with a proof.
	ui := strings.TrimRight(f.issuer, "/") + "/userinfo"
	userinfo := func(scheme string, s *dpop.Signer) (int, string) {
		req, _ := http.NewRequest("GET", ui, nil)
		req.Header.Set("Authorization", scheme+" "+r.body["access_token"])
		if s != nil {
			s.Now = f.clock
			req.Header.Set("DPoP", must(s.Proof("GET", ui, r.body["access_token"], "")))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	if st, ch := userinfo("Bearer", nil); st != 401 || !strings.Contains(ch, "DPoP-bound") {
		t.Errorf("bound token as Bearer at /userinfo: %d %q", st, ch)
	}
	if st, ch := userinfo("DPoP", thief); st != 401 || !strings.Contains(ch, `error="invalid_dpop_proof"`) {
		t.Errorf("another key's proof at /userinfo: %d %q", st, ch)
	}
	if st, ch := userinfo("DPoP", owner); st != 200 {
		t.Errorf("bound token with its proof at /userinfo: %d %q", st, ch)
	}
	refresh := func(s *dpop.Signer, rt string) tokenReply {
		return f.tokenWithProof(s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.spa.ClientID}})
	}
	rt := r.body["refresh_token"]
	for name, s := range map[string]*dpop.Signer{"no proof": nil, "another key": thief} {
		if r := refresh(s, rt); r.status != 400 || r.body["error"] != "invalid_grant" || !strings.Contains(r.body["error_description"], "bound to a DPoP key") {
			t.Errorf("%s: %d %v, want invalid_grant", name, r.status, r.body)
		}
	}
	r = refresh(owner, rt)
	if r.status != 200 || r.body["token_type"] != "DPoP" || r.body["refresh_token"] == "" {
		t.Fatalf("refresh with the key: %d %v", r.status, r.body)
	}
	if r := refresh(nil, r.body["refresh_token"]); r.status != 400 || r.body["error"] != "invalid_grant" {
		t.Errorf("the rotated token is not bound: %d %v", r.status, r.body)
	}

	// A browser app may send the proof and read the nonce (CORS).
	if r := f.corsDo("OPTIONS", "/oauth/token", spaOrigin, "", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type, dpop"); r.status != 204 || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "dpop") {
		t.Errorf("preflight with DPoP: %d %v", r.status, r.header)
	}
	if r := f.corsDo("POST", "/oauth/token", spaOrigin, "grant_type=refresh_token&refresh_token=x&client_id="+f.spa.ClientID); r.header.Get("Access-Control-Expose-Headers") != "DPoP-Nonce" {
		t.Errorf("DPoP-Nonce not exposed: %v", r.header)
	}

	// A confidential client: the access token is bound, the refresh token
	// is not (RFC 9449 §5).
	wc := f.webCode(f.code(f.web.ClientID, webCB, "openid offline_access read"), nil)
	r = f.tokenWithProof(owner, wc)
	if r.status != 200 || r.body["token_type"] != "DPoP" {
		t.Fatalf("web code exchange: %d %v", r.status, r.body)
	}
	r = f.tokenWithProof(nil, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.body["refresh_token"]},
		"client_id": {f.web.ClientID}, "client_secret": {f.webSecret}})
	if r.status != 200 || r.body["token_type"] != "Bearer" {
		t.Errorf("confidential refresh without proof: %d %v", r.status, r.body)
	}
}

// TestDPoPTokenReuse: with token reuse on, a bound token is handed again
// only to a request with a proof of the same key; a bearer request, or one
// with another key, never gets it.
func TestDPoPTokenReuse(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.TokenReuse = true })
	a, b := newProofSigner(t, newDPoPKey(t)), newProofSigner(t, newDPoPKey(t))
	get := func(s *dpop.Signer) string {
		var proofs []string
		if s != nil {
			proofs = []string{must(s.Proof("POST", f.tokenURL(), "", ""))}
		}
		r := f.withProof(proofs)
		if r.status != 200 {
			t.Fatalf("%d %v", r.status, r.raw)
		}
		return r.str("access_token")
	}
	first := get(a)
	if get(a) != first {
		t.Error("the same key did not get its token again")
	}
	if get(b) == first || get(nil) == first {
		t.Error("a bound token was handed to another key or to a bearer request")
	}
}
