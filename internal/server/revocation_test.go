package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
	"github.com/gatehouse-dev/gatehouse/verify"
)

// answer is a response of /oauth/revoke or /oauth/introspect.
type answer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (a answer) active() bool { v, _ := a.json["active"].(bool); return v }

// post sends a form to path of base with HTTP Basic credentials (none when
// id is empty) and the extra headers given as name, value pairs.
func post(t testing.TB, base, path, id, secret string, form url.Values, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &a.json)
	return a
}

// party is a client of the fixture with its secret.
type party struct{ id, secret string }

// newParty creates a client granted read on aud (none when aud is empty).
func (f *fixture) newParty(name, aud string) party {
	f.t.Helper()
	c, sec, err := f.admin.CreateClient(f.ctx, admin.ClientInput{Name: name})
	if err != nil {
		f.t.Fatal(err)
	}
	if aud != "" {
		if _, err := f.admin.CreateGrant(f.ctx, c.ClientID, aud, []string{"read"}); err != nil {
			f.t.Fatal(err)
		}
	}
	f.sync()
	return party{c.ClientID, sec.Plain}
}

// tokenFor obtains p's client credentials token for aud.
func (f *fixture) tokenFor(p party, aud string) string {
	f.t.Helper()
	r := f.postForm("grant_type", "client_credentials", "client_id", p.id, "client_secret", p.secret, "audience", aud)
	if r.status != 200 {
		f.t.Fatalf("token for %s: %d %v", p.id, r.status, r.raw)
	}
	return r.str("access_token")
}

func (f *fixture) revoke(p party, tok string, extra ...string) answer {
	f.t.Helper()
	form := url.Values{"token": {tok}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return post(f.t, f.http.URL, "/oauth/revoke", p.id, p.secret, form)
}

func (f *fixture) introspect(p party, tok string, headers ...string) answer {
	f.t.Helper()
	return post(f.t, f.http.URL, "/oauth/introspect", p.id, p.secret, url.Values{"token": {tok}}, headers...)
}

// revocationFixtureAt is revocationFixture on the test's clock.
func revocationFixtureAt(t *testing.T, clk *clock) (f *fixture, owner, thief, rs party) {
	opts := fixtureOptions()
	opts.Now = clk.now
	f = setupFixture(t, opts, true, func(c *config.Config) { c.SyncInterval = 20 * time.Millisecond })
	f.admin.Now = clk.now
	return revocationParties(f)
}

// revocationFixture is a fixture with a second client granted on the API,
// and a resource server client allowed to introspect the API's tokens.
func revocationFixture(t *testing.T, mutate ...func(*config.Config)) (f *fixture, owner, thief, rs party) {
	return revocationParties(newFixture(t, mutate...))
}

func revocationParties(f *fixture) (_ *fixture, owner, thief, rs party) {
	t := f.t
	owner = party{f.clientID, f.secret}
	thief = f.newParty("thief", audience)
	rs = f.newParty("resource server", "")
	if _, err := f.admin.AddIntrospector(f.ctx, audience, rs.id); err != nil {
		t.Fatal(err)
	}
	f.sync()
	return f, owner, thief, rs
}

// TestRevokeAccessToken: a client revokes its access token; introspection
// says inactive from then on, and token reuse does not hand it out again.
func TestRevokeAccessToken(t *testing.T) {
	f, owner, _, rs := revocationFixture(t, func(c *config.Config) { c.TokenReuse = true })
	tok := f.tokenFor(owner, audience)
	a := f.introspect(rs, tok)
	if a.status != 200 || !a.active() || a.json["client_id"] != owner.id || a.json["aud"] != audience || a.json["scope"] != "read write" ||
		a.json["token_type"] != "Bearer" || a.json["jti"] == nil || a.json["exp"] == nil {
		t.Fatalf("introspection of a good token: %d %s", a.status, a.body)
	}
	if got := a.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if again := f.tokenFor(owner, audience); again != tok {
		t.Fatal("token reuse is not on: the test would not see a revoked token handed out again")
	}
	if r := f.revoke(owner, tok, "token_type_hint", "access_token"); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if a := f.introspect(rs, tok); a.status != 200 || a.active() || len(a.json) != 1 {
		t.Fatalf("introspection of a revoked token: %d %s", a.status, a.body)
	}
	if again := f.tokenFor(owner, audience); again == tok {
		t.Error("token reuse handed the revoked token out again")
	}
	// Revoking it again, or with the wrong hint, is still 200 (RFC 7009 §2.2).
	if r := f.revoke(owner, tok, "token_type_hint", "refresh_token"); r.status != 200 {
		t.Errorf("revoke again: %d %s", r.status, r.body)
	}
}

// TestRevokeAnotherClientsToken: client B cannot revoke A's tokens, access
// or refresh (RFC 7009 §2.1): refused, and A's token stays good.
func TestRevokeAnotherClientsToken(t *testing.T) {
	f, owner, thief, rs := revocationFixture(t)
	tok := f.tokenFor(owner, audience)
	r := f.revoke(thief, tok)
	if r.status != 400 || r.json["error"] != "unauthorized_client" {
		t.Errorf("another client's revocation: %d %s, want 400 unauthorized_client", r.status, r.body)
	}
	f.sync()
	if a := f.introspect(rs, tok); !a.active() {
		t.Fatalf("the owner's token after another client tried to revoke it: %s", a.body)
	}
}

// TestRevokeAccessTokenWrongHint: an access token revoked with the hint
// refresh_token is revoked all the same (RFC 7009 §2.1: the hint only
// orders the search; a server that cannot find the token under it looks
// further).
func TestRevokeAccessTokenWrongHint(t *testing.T) {
	f, owner, _, rs := revocationFixture(t)
	tok := f.tokenFor(owner, audience)
	if r := f.revoke(owner, tok, "token_type_hint", "refresh_token"); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if a := f.introspect(rs, tok); a.status != 200 || a.active() {
		t.Fatalf("introspection of a token revoked under a wrong hint: %d %s", a.status, a.body)
	}
}

// TestRevokeRequests: what RFC 7009 §2 answers besides a revocation.
func TestRevokeRequests(t *testing.T) {
	f, owner, _, _ := revocationFixture(t)
	tok := f.tokenFor(owner, audience)
	for _, tc := range []struct {
		name   string
		p      party
		form   url.Values
		status int
		code   string
	}{
		{"unknown token", owner, url.Values{"token": {"not-a-token"}}, 200, ""},
		{"foreign jwt", owner, url.Values{"token": {"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}}, 200, ""},
		{"unknown hint", owner, url.Values{"token": {"x"}, "token_type_hint": {"id_token"}}, 200, ""},
		{"no token", owner, url.Values{}, 400, "invalid_request"},
		{"wrong secret", party{owner.id, "wrong"}, url.Values{"token": {tok}}, 401, "invalid_client"},
		{"no credentials", party{}, url.Values{"token": {tok}}, 401, "invalid_client"},
		{"client_id alone of a confidential client", party{}, url.Values{"token": {tok}, "client_id": {owner.id}}, 401, "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, f.http.URL, "/oauth/revoke", tc.p.id, tc.p.secret, tc.form)
			if r.status != tc.status || tc.code != "" && r.json["error"] != tc.code {
				t.Errorf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	if resp, err := http.Get(f.http.URL + "/oauth/revoke"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /oauth/revoke: %v %v", resp, err)
	}
}

// TestIntrospectionRights: a client that no API lists may not introspect
// (403), and one listed for another API learns nothing of this API's
// tokens (active false); rights given and taken back reach the endpoint.
func TestIntrospectionRights(t *testing.T) {
	f, owner, thief, rs := revocationFixture(t)
	tok := f.tokenFor(owner, audience)
	if a := f.introspect(thief, tok); a.status != 403 || a.json["error"] != "unauthorized_client" || a.json["active"] != nil {
		t.Errorf("a client without the right: %d %s, want 403 unauthorized_client", a.status, a.body)
	}
	elsewhere := f.newParty("other api's server", "")
	if _, err := f.admin.AddIntrospector(f.ctx, other, elsewhere.id); err != nil {
		t.Fatal(err)
	}
	f.sync()
	if a := f.introspect(elsewhere, tok); a.status != 200 || a.active() || len(a.json) != 1 {
		t.Errorf("a client allowed for another API: %d %s, want active false", a.status, a.body)
	}
	if a := f.introspect(rs, tok); !a.active() {
		t.Fatalf("the API's own introspector: %s", a.body)
	}
	if err := f.admin.RemoveIntrospector(f.ctx, audience, rs.id); err != nil {
		t.Fatal(err)
	}
	f.sync()
	if a := f.introspect(rs, tok); a.status != 403 {
		t.Errorf("after the right was taken back: %d %s, want 403", a.status, a.body)
	}
	if _, err := f.admin.AddIntrospector(f.ctx, audience, "no-such-client"); err == nil {
		t.Error("a right for an unknown client was given")
	}
}

// TestIntrospectInactive: every kind of token that is not good now is
// active false, with nothing else in the answer (RFC 7662 §2.2).
func TestIntrospectInactive(t *testing.T) {
	clk := newClock()
	f, owner, _, rs := revocationFixtureAt(t, clk)
	disabled := f.newParty("to be disabled", audience)
	disabledTok := f.tokenFor(disabled, audience)
	if _, err := f.admin.SetClientDisabled(f.ctx, disabled.id, true); err != nil {
		t.Fatal(err)
	}
	good := f.tokenFor(owner, audience)
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	claims["iss"] = "https://evil.example"
	foreignIssuer := resign(t, f, claims)
	strangerKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: strangerKey, KeyID: f.srv.Keys().Keys()[0].KID}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := signer.Sign(payload) // the real claims, a stranger's key under a kid of ours
	unknownKey, _ := obj.CompactSerialize()
	expiring := f.tokenFor(f.newParty("expiring", audience), audience)
	f.sync()
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"read write"`, `"read write admin"`, 1))) + "." + parts[2]

	clk.add(24*time.Hour + time.Second) // the API's default lifetime: expiring is expired
	for name, tok := range map[string]string{
		"expired": expiring, "disabled client": disabledTok, "unknown key": unknownKey, "other issuer": foreignIssuer,
		"tampered": tampered, "malformed": "a.b.c", "opaque": "not-a-jwt", "empty segments": "..",
	} {
		if a := f.introspect(rs, tok); a.status != 200 || a.active() || len(a.json) != 1 {
			t.Errorf("%s: %d %s, want active false alone", name, a.status, a.body)
		}
	}
	if a := f.introspect(rs, ""); a.status != 400 || a.json["error"] != "invalid_request" {
		t.Errorf("no token: %d %s", a.status, a.body)
	}
}

// resign signs claims with the server's own current key, as a forger with
// the key would; only the issuer differs from a real token.
func resign(t *testing.T, f *fixture, claims map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(claims)
	tok, err := f.srv.Keys().Sign("RS256", "at+jwt", b)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestIntrospectJWTResponse: with Accept application/token-introspection+jwt
// the answer is a JWT of typ token-introspection+jwt signed with a key of
// the server's JWKS, for the caller, holding the answer (RFC 9701 §5).
func TestIntrospectJWTResponse(t *testing.T) {
	f, owner, _, rs := revocationFixture(t)
	tok := f.tokenFor(owner, audience)
	a := f.introspect(rs, tok, "Accept", "application/token-introspection+jwt")
	if a.status != 200 || a.header.Get("Content-Type") != "application/token-introspection+jwt" {
		t.Fatalf("%d %s %q", a.status, a.body, a.header.Get("Content-Type"))
	}
	jws, err := jose.ParseSigned(string(a.body), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if typ := jws.Signatures[0].Protected.ExtraHeaders["typ"]; typ != "token-introspection+jwt" {
		t.Errorf("typ %v", typ)
	}
	resp, err := http.Get(f.http.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	_ = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("the answer's key %q is not in the JWKS", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Iss string         `json:"iss"`
		Aud string         `json:"aud"`
		Iat int64          `json:"iat"`
		TI  map[string]any `json:"token_introspection"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		t.Fatal(err)
	}
	if body.Iss != f.issuer || body.Aud != rs.id || body.Iat == 0 || body.TI["active"] != true || body.TI["client_id"] != owner.id {
		t.Errorf("answer %s", payload)
	}
	// JSON is preferred when the client says so.
	if a := f.introspect(rs, tok, "Accept", "application/json, application/token-introspection+jwt;q=0.5"); a.header.Get("Content-Type") != "application/json" || !a.active() {
		t.Errorf("JSON preferred: %q %s", a.header.Get("Content-Type"), a.body)
	}
}

// TestRevocationThrottled: failed client authentications at the revocation
// and introspection endpoints count as at the token endpoint (the same
// step): past the limit they are answered 429, also at /oauth/token.
func TestRevocationThrottled(t *testing.T) {
	f, owner, _, rs := revocationFixture(t, func(c *config.Config) { c.AuthFailureLimit = 4 })
	tok := f.tokenFor(owner, audience)
	codes := map[int]int{}
	for i := range 10 {
		path := []string{"/oauth/revoke", "/oauth/introspect"}[i%2]
		codes[post(t, f.http.URL, path, rs.id, "guess", url.Values{"token": {tok}}).status]++
	}
	if codes[401] != 4 || codes[429] != 6 {
		t.Errorf("status counts %v, want 4 × 401, 6 × 429", codes)
	}
	if r := f.postForm("grant_type", "client_credentials", "client_id", rs.id, "client_secret", rs.secret, "audience", audience); r.status != 429 {
		t.Errorf("the token endpoint after the guesses at its neighbours: %d, want 429", r.status)
	}
}

// TestDiscoveryRevocation: the metadata names both endpoints and their
// authentication methods (RFC 8414 §2).
func TestDiscoveryRevocation(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.http.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if m["revocation_endpoint"] != f.issuer+"/oauth/revoke" || m["introspection_endpoint"] != f.issuer+"/oauth/introspect" {
		t.Errorf("endpoints %v %v", m["revocation_endpoint"], m["introspection_endpoint"])
	}
	rev, _ := json.Marshal(m["revocation_endpoint_auth_methods_supported"])
	in, _ := json.Marshal(m["introspection_endpoint_auth_methods_supported"])
	// As at the token endpoint (private_key_jwt included: the same
	// authentication step), a public client revoking by client_id.
	if string(rev) != `["client_secret_basic","client_secret_post","private_key_jwt","none"]` || string(in) != `["client_secret_basic","client_secret_post","private_key_jwt"]` {
		t.Errorf("auth methods %s %s", rev, in)
	}
	for _, k := range []string{"revocation_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_signing_alg_values_supported"} {
		if fmt.Sprint(m[k]) != fmt.Sprint(m["token_endpoint_auth_signing_alg_values_supported"]) || m[k] == nil {
			t.Errorf("%s = %v, want the token endpoint's %v", k, m[k], m["token_endpoint_auth_signing_alg_values_supported"])
		}
	}
	if algs, _ := json.Marshal(m["introspection_signing_alg_values_supported"]); string(algs) != `["RS256"]` {
		t.Errorf("introspection_signing_alg_values_supported %s", algs)
	}
}

// TestRevokeAllTokensOfAClient: the administrator's revocation of every
// token of a client makes its tokens inactive, not those of other clients
// nor those it gets afterwards (the next second on).
func TestRevokeAllTokensOfAClient(t *testing.T) {
	clk := newClock()
	f, owner, thief, rs := revocationFixtureAt(t, clk)
	tok, others := f.tokenFor(owner, audience), f.tokenFor(thief, audience)
	got, err := f.admin.RevokeClientTokens(f.ctx, owner.id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != storage.RevokeClient || got.ExpiresAt.Sub(got.Before) < 24*time.Hour {
		t.Errorf("revoked %+v: the entry must outlive the longest token lifetime", got)
	}
	f.sync()
	if a := f.introspect(rs, tok); a.active() {
		t.Error("a token of the revoked client is active")
	}
	if a := f.introspect(rs, others); !a.active() {
		t.Error("another client's token was revoked too")
	}
	clk.add(time.Second)
	if a := f.introspect(rs, f.tokenFor(owner, audience)); !a.active() {
		t.Error("a token issued after the revocation is inactive")
	}
}

// TestRevokeRefreshToken: a revoked refresh token and every token of its
// family are refused at /oauth/token; a public client revokes its own by
// client_id alone; another client's revocation is refused and leaves the
// family good.
func TestRevokeRefreshToken(t *testing.T) {
	f := newLoginFixture(t)
	base := strings.TrimRight(f.issuer, "/")
	login := func(clientID, cb, secret string) string {
		v := url.Values{"grant_type": {"authorization_code"}, "code": {f.code(clientID, cb, "openid offline_access read")},
			"redirect_uri": {cb}, "code_verifier": {pkceVerifier}, "client_id": {clientID}}
		if secret != "" {
			v.Set("client_secret", secret)
		}
		r := f.token(v)
		if r.body["refresh_token"] == "" {
			t.Fatalf("no refresh token: %d %v", r.status, r.body)
		}
		return r.body["refresh_token"]
	}
	refresh := func(rt, clientID, secret string) tokenReply {
		v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}}
		if secret != "" {
			v.Set("client_secret", secret)
		}
		return f.token(v)
	}
	web := party{f.web.ClientID, f.webSecret}

	t.Run("the family goes with the token", func(t *testing.T) {
		first := login(web.id, webCB, web.secret)
		next := refresh(first, web.id, web.secret)
		if next.status != 200 {
			t.Fatalf("rotation: %d %v", next.status, next.body)
		}
		if r := post(t, base, "/oauth/revoke", web.id, web.secret, url.Values{"token": {next.body["refresh_token"]}, "token_type_hint": {"refresh_token"}}); r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		wantError(t, refresh(next.body["refresh_token"], web.id, web.secret), 400, "invalid_grant")
		wantError(t, refresh(first, web.id, web.secret), 400, "invalid_grant")
	})
	t.Run("a hint that lies is only a hint", func(t *testing.T) {
		rt := login(web.id, webCB, web.secret)
		if r := post(t, base, "/oauth/revoke", web.id, web.secret, url.Values{"token": {rt}, "token_type_hint": {"access_token"}}); r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		wantError(t, refresh(rt, web.id, web.secret), 400, "invalid_grant")
	})
	t.Run("another client's revocation is refused", func(t *testing.T) {
		rt := login(web.id, webCB, web.secret)
		if r := post(t, base, "/oauth/revoke", "", "", url.Values{"token": {rt}, "client_id": {f.spa.ClientID}}); r.status != 400 || r.json["error"] != "unauthorized_client" {
			t.Errorf("the SPA revoking the web client's token: %d %s", r.status, r.body)
		}
		if r := refresh(rt, web.id, web.secret); r.status != 200 {
			t.Errorf("the web client's token after the SPA tried to revoke it: %d %v", r.status, r.body)
		}
	})
	t.Run("a public client by its client_id", func(t *testing.T) {
		rt := login(f.spa.ClientID, spaCB, "")
		if r := post(t, base, "/oauth/revoke", "", "", url.Values{"token": {rt}, "client_id": {f.spa.ClientID}}); r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		wantError(t, refresh(rt, f.spa.ClientID, ""), 400, "invalid_grant")
	})
	t.Run("every token of the user", func(t *testing.T) {
		rt := login(web.id, webCB, web.secret)
		if _, err := f.admin.RevokeUserTokens(f.ctx, aliceEmail); err != nil {
			t.Fatal(err)
		}
		wantError(t, refresh(rt, web.id, web.secret), 400, "invalid_grant")
	})
}

// TestRevocationLogsNoToken: revocation and introspection, good and bad,
// with the log at debug, leave no token or secret in any log line.
func TestRevocationLogsNoToken(t *testing.T) {
	l := startLive(t, server.Options{})
	if _, err := l.admin.CreateAPI(l.ctx, admin.APIInput{Identifier: audience, Scopes: scopes("read")}); err != nil {
		t.Fatal(err)
	}
	var issued []string
	newParty := func(name string) party {
		c, sec, err := l.admin.CreateClient(l.ctx, admin.ClientInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.admin.CreateGrant(l.ctx, c.ClientID, audience, []string{"read"}); err != nil {
			t.Fatal(err)
		}
		issued = append(issued, sec.Plain)
		return party{c.ClientID, sec.Plain}
	}
	owner, thief, rs := newParty("owner"), newParty("thief"), newParty("rs")
	if _, err := l.admin.AddIntrospector(l.ctx, audience, rs.id); err != nil {
		t.Fatal(err)
	}
	l.sync()
	tokenOf := func(p party) string {
		r := post(t, l.url, "/oauth/token", p.id, p.secret, url.Values{"grant_type": {"client_credentials"}, "audience": {audience}})
		tok, _ := r.json["access_token"].(string)
		if tok == "" {
			t.Fatalf("token: %d %s", r.status, r.body)
		}
		issued = append(issued, tok)
		return tok
	}
	tok, other := tokenOf(owner), tokenOf(thief)
	for _, c := range []struct {
		path   string
		p      party
		tok    string
		accept string
		status int
	}{
		{"/oauth/introspect", rs, tok, "", 200},
		{"/oauth/introspect", rs, tok, "application/token-introspection+jwt", 200},
		{"/oauth/introspect", thief, tok, "", 403},
		{"/oauth/introspect", party{rs.id, rs.secret + "x"}, tok, "", 401},
		{"/oauth/revoke", thief, tok, "", 400},
		{"/oauth/revoke", party{owner.id, "wrong"}, tok, "", 401},
		{"/oauth/revoke", owner, tok, "", 200},
		{"/oauth/revoke", owner, other, "", 400},
		{"/oauth/revoke", owner, "opaque-" + owner.secret, "", 200},
		{"/oauth/introspect", rs, tok, "", 200},
	} {
		if r := post(t, l.url, c.path, c.p.id, c.p.secret, url.Values{"token": {c.tok}}, "Accept", c.accept); r.status != c.status {
			t.Fatalf("%s by %s: %d %s, want %d", c.path, c.p.id, r.status, r.body, c.status)
		}
	}
	logs := l.logs.String()
	if !strings.Contains(logs, "/oauth/revoke") || !strings.Contains(logs, "/oauth/introspect") {
		t.Fatal("the log does not show the requests: it is not capturing them")
	}
	if leaks := testutil.Leaks(logs, issued, l.masterKey); len(leaks) > 0 {
		t.Fatalf("the log leaks credentials:\n%s", strings.Join(leaks, "\n"))
	}
}

// TestVerifyIntrospectionMode: package verify in introspection mode, with
// the API's client credentials, refuses a revoked token once its short
// cache lapses, where an offline verifier still accepts it until it
// expires; a client without the right to introspect gets 503 answers.
func TestVerifyIntrospectionMode(t *testing.T) {
	f, owner, thief, rs := revocationFixture(t)
	ttl := 200 * time.Millisecond
	newVerifier := func(in *verify.Introspection) *verify.Verifier {
		v, err := verify.New(verify.Config{Issuer: f.issuer, Audience: audience, Introspection: in})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	online := newVerifier(&verify.Introspection{ClientID: rs.id, ClientSecret: rs.secret, CacheTTL: ttl})
	offline := newVerifier(nil)
	tok := f.tokenFor(owner, audience)
	for name, v := range map[string]*verify.Verifier{"online": online, "offline": offline} {
		if _, err := v.Verify(f.ctx, tok); err != nil {
			t.Fatalf("%s, before the revocation: %v", name, err)
		}
	}
	if r := f.revoke(owner, tok); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	took := eventually(t, ttl+time.Second, "the revocation in introspection mode", func() bool {
		_, err := online.Verify(f.ctx, tok)
		return errors.Is(err, verify.ErrRevoked)
	})
	t.Logf("introspection mode refused the revoked token %s after the revocation (cache %s)", took.Round(time.Millisecond), ttl)
	if _, err := offline.Verify(f.ctx, tok); err != nil {
		t.Errorf("the offline verifier refused the revoked token (%v): it cannot know of the revocation", err)
	}

	// The middleware: 401 invalid_token for the revoked token, 503 when the
	// issuer refuses to answer (a client without the right).
	denied := newVerifier(&verify.Introspection{ClientID: thief.id, ClientSecret: thief.secret})
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	for _, tc := range []struct {
		v      *verify.Verifier
		tok    string
		status int
	}{
		{online, tok, 401}, {online, f.tokenFor(owner, audience), 204}, {denied, f.tokenFor(owner, audience), 503},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tc.tok)
		w := httptest.NewRecorder()
		tc.v.Middleware(ok).ServeHTTP(w, req)
		if w.Code != tc.status {
			t.Errorf("middleware: %d %s, want %d", w.Code, w.Body, tc.status)
		}
	}
}

// TestUserinfoRefusesRevokedToken: a person's access token revoked by its
// client no longer reads /userinfo (RFC 6750 §3.1 invalid_token).
func TestUserinfoRefusesRevokedToken(t *testing.T) {
	f := newLoginFixture(t)
	base := strings.TrimRight(f.issuer, "/")
	at := f.token(f.webCode(f.code(f.web.ClientID, webCB, "openid email"), nil)).body["access_token"]
	userinfo := func() int { return f.userinfoStatus(t, at) }
	if s := userinfo(); s != 200 {
		t.Fatalf("before the revocation: %d", s)
	}
	if r := post(t, base, "/oauth/revoke", f.web.ClientID, f.webSecret, url.Values{"token": {at}}); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if s := userinfo(); s != 401 {
		t.Errorf("after the revocation: %d, want 401", s)
	}
}

// TestRevokedFamilyTakesItsAccessTokens: revoking a refresh token (RFC 7009
// §2.1), or reusing a used one (RFC 9700 §4.14.2), also revokes the access
// tokens issued with its login's refresh tokens, on every instance through
// the denylist; another login of the same person and client keeps working.
func TestRevokedFamilyTakesItsAccessTokens(t *testing.T) {
	f := newLoginFixture(t)
	base := strings.TrimRight(f.issuer, "/")
	login := func() tokenReply {
		r := f.token(url.Values{"grant_type": {"authorization_code"}, "code": {f.code(f.web.ClientID, webCB, "openid offline_access read")},
			"redirect_uri": {webCB}, "code_verifier": {pkceVerifier}, "client_id": {f.web.ClientID}, "client_secret": {f.webSecret}})
		if r.status != 200 || r.body["refresh_token"] == "" || r.body["access_token"] == "" {
			t.Fatalf("login: %d %v", r.status, r.body)
		}
		return r
	}
	refresh := func(rt string) tokenReply {
		return f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.web.ClientID}, "client_secret": {f.webSecret}})
	}
	userinfo := func(at string) int { return f.userinfoStatus(t, at) }
	refused := func(what, at string) { t.Helper(); f.waitUserinfoRefused(t, what, at) }

	t.Run("revoking the refresh token", func(t *testing.T) {
		first, other := login(), login()
		next := refresh(first.body["refresh_token"])
		if next.status != 200 {
			t.Fatalf("rotation: %d %v", next.status, next.body)
		}
		for _, at := range []string{first.body["access_token"], next.body["access_token"], other.body["access_token"]} {
			if s := userinfo(at); s != 200 {
				t.Fatalf("before the revocation: %d", s)
			}
		}
		if r := post(t, base, "/oauth/revoke", f.web.ClientID, f.webSecret, url.Values{"token": {next.body["refresh_token"]}}); r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		refused("the login's first access token", first.body["access_token"])
		refused("the rotation's access token", next.body["access_token"])
		if s := userinfo(other.body["access_token"]); s != 200 {
			t.Errorf("another login of the same person and client: %d, want 200", s)
		}
	})
	t.Run("reusing a refresh token", func(t *testing.T) {
		first := login()
		next := refresh(first.body["refresh_token"])
		if next.status != 200 {
			t.Fatalf("rotation: %d %v", next.status, next.body)
		}
		wantError(t, refresh(first.body["refresh_token"]), 400, "invalid_grant")
		refused("the login's first access token", first.body["access_token"])
		refused("the rotation's access token", next.body["access_token"])
	})
}

// TestReusedCodeTakesItsAccessToken: a second use of an authorization code
// revokes the access token its first use issued (RFC 6749 §4.1.2), also
// for a login without offline_access, which has no refresh token family.
func TestReusedCodeTakesItsAccessToken(t *testing.T) {
	f := newLoginFixture(t)
	redeem := func(code string) tokenReply {
		return f.token(url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {webCB}, "code_verifier": {pkceVerifier}, "client_id": {f.web.ClientID}, "client_secret": {f.webSecret}})
	}
	userinfo := func(at string) int { return f.userinfoStatus(t, at) }
	for _, scope := range []string{"openid read", "openid offline_access read"} {
		t.Run(scope, func(t *testing.T) {
			code := f.code(f.web.ClientID, webCB, scope)
			first := redeem(code)
			other := redeem(f.code(f.web.ClientID, webCB, scope))
			if first.status != 200 || other.status != 200 {
				t.Fatalf("redeem: %d %v; %d %v", first.status, first.body, other.status, other.body)
			}
			if s := userinfo(first.body["access_token"]); s != 200 {
				t.Fatalf("before the reuse: %d", s)
			}
			wantError(t, redeem(code), 400, "invalid_grant")
			f.waitUserinfoRefused(t, "the first use's access token", first.body["access_token"])
			if s := userinfo(other.body["access_token"]); s != 200 {
				t.Errorf("another login's access token: %d, want 200", s)
			}
		})
	}
}

// userinfoStatus is the status of GET /userinfo with the bearer token at.
func (f *loginFixture) userinfoStatus(t *testing.T, at string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, strings.TrimRight(f.issuer, "/")+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitUserinfoRefused waits up to 10 s, as the denylist reaches the
// instance through the change feed, for /userinfo to refuse the token at.
func (f *loginFixture) waitUserinfoRefused(t *testing.T, what, at string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); f.userinfoStatus(t, at) != http.StatusUnauthorized; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("%s still reads /userinfo 10 s after its revocation", what)
			return
		}
	}
}
