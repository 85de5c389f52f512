package server_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func basic(id, secret string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
	}
}

// TestTokenErrors covers every row of docs/reference/protocol.md's error table over real HTTP.
func TestTokenErrors(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	now := time.Now()

	// A client that may not use client_credentials.
	noCC := storage.Client{ClientID: "nocc", Name: "nocc", AppType: storage.AppTypeNonInteractive, GrantTypes: []string{}, CreatedAt: now, UpdatedAt: now}
	// Clients whose only secret is expired, not yet active, or who are disabled.
	expired, _, _ := f.admin.CreateClient(ctx, admin.ClientInput{Name: "expired"})
	future, _, _ := f.admin.CreateClient(ctx, admin.ClientInput{Name: "future"})
	disabled, disabledSec, _ := f.admin.CreateClient(ctx, admin.ClientInput{Name: "disabled"})
	expiredSec, err := f.admin.AddSecret(ctx, expired.ClientID, time.Time{}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	futureSec, err := f.admin.AddSecret(ctx, future.ClientID, now.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Remove the clients' initial secrets so only the special one remains.
	for _, c := range []string{expired.ClientID, future.ClientID} {
		list, _ := f.admin.ListSecrets(ctx, c)
		for _, s := range list {
			if s.ID != expiredSec.ID && s.ID != futureSec.ID {
				_ = f.admin.RevokeSecret(ctx, c, s.ID)
			}
		}
	}
	if _, err := f.admin.SetClientDisabled(ctx, disabled.ClientID, true); err != nil {
		t.Fatal(err)
	}
	noCCSecret, err := f.admin.AddSecret(ctx, "missing", time.Time{}, 0)
	if err == nil {
		t.Fatal("adding a secret to a missing client succeeded")
	}
	if err := f.store.CreateClient(ctx, noCC); err != nil {
		t.Fatal(err)
	}
	noCCSecret, err = f.admin.AddSecret(ctx, "nocc", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // let the expiring secret expire
	f.sync()

	cc := "client_credentials"
	id, sec := f.clientID, f.secret
	formCT := "application/x-www-form-urlencoded"
	big := strings.Repeat("a", 65<<10)

	tests := []struct {
		name        string
		method      string
		query       string
		ct          string
		body        []byte
		mod         func(*http.Request)
		status      int
		code        string
		description string // substring
	}{
		{name: "missing grant_type", body: form("client_id", id, "client_secret", sec, "audience", audience), status: 400, code: "invalid_request", description: "grant_type"},
		{name: "duplicate parameter", body: form("grant_type", cc, "grant_type", cc, "client_id", id, "client_secret", sec), status: 400, code: "invalid_request", description: "more than once"},
		{name: "malformed JSON", ct: "application/json", body: []byte(`{"grant_type":`), status: 400, code: "invalid_request", description: "malformed"},
		{name: "JSON not an object", ct: "application/json", body: []byte(`["grant_type"]`), status: 400, code: "invalid_request", description: "object"},
		{name: "JSON non-string value", ct: "application/json", body: []byte(`{"grant_type":"client_credentials","client_id":42,"client_secret":"x"}`), status: 400, code: "invalid_request", description: `"client_id" must be a string`},
		{name: "JSON duplicate member", ct: "application/json", body: []byte(`{"grant_type":"client_credentials","audience":"a","audience":"b"}`), status: 400, code: "invalid_request", description: "more than once"},
		{name: "JSON trailing data", ct: "application/json", body: []byte(`{"grant_type":"client_credentials"} {}`), status: 400, code: "invalid_request", description: "malformed"},
		{name: "wrong content type", ct: "text/plain", body: form("grant_type", cc), status: 400, code: "invalid_request", description: "content type"},
		{name: "no content type", ct: "-", body: form("grant_type", cc), status: 400, code: "invalid_request", description: "content type"},
		{name: "body over 64 KiB", body: form("grant_type", cc, "pad", big), status: 400, code: "invalid_request", description: "64 KiB"},
		{name: "secret in query", query: "client_secret=" + sec, body: form("grant_type", cc, "client_id", id, "audience", audience), status: 400, code: "invalid_request", description: "URL query"},
		{name: "audience in query", query: "audience=" + audience, body: form("grant_type", cc, "client_id", id, "client_secret", sec), status: 400, code: "invalid_request", description: "URL query"},
		{name: "GET", method: http.MethodGet, status: 405, code: "invalid_request"},
		{name: "no credentials", body: form("grant_type", cc, "audience", audience), status: 401, code: "invalid_client", description: "required"},
		{name: "client_id without secret", body: form("grant_type", cc, "client_id", id, "audience", audience), status: 401, code: "invalid_client", description: "required"},
		{name: "unknown client", body: form("grant_type", cc, "client_id", "nobody", "client_secret", sec, "audience", audience), status: 401, code: "invalid_client", description: "client authentication failed"},
		{name: "wrong secret", body: form("grant_type", cc, "client_id", id, "client_secret", sec+"x", "audience", audience), status: 401, code: "invalid_client", description: "client authentication failed"},
		{name: "wrong secret basic", body: form("grant_type", cc, "audience", audience), mod: basic(id, "nope"), status: 401, code: "invalid_client", description: "client authentication failed"},
		{name: "expired secret", body: form("grant_type", cc, "client_id", expired.ClientID, "client_secret", expiredSec.Plain, "audience", audience), status: 401, code: "invalid_client", description: "client authentication failed"},
		{name: "not yet active secret", body: form("grant_type", cc, "client_id", future.ClientID, "client_secret", futureSec.Plain, "audience", audience), status: 401, code: "invalid_client", description: "client authentication failed"},
		{name: "disabled client", body: form("grant_type", cc, "client_id", disabled.ClientID, "client_secret", disabledSec.Plain, "audience", audience), status: 401, code: "invalid_client", description: "client authentication failed"},
		{name: "malformed basic", body: form("grant_type", cc), mod: func(r *http.Request) { r.Header.Set("Authorization", "Basic !!!") }, status: 400, code: "invalid_request", description: "base64"},
		{name: "bearer authorization", body: form("grant_type", cc), mod: func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, status: 400, code: "invalid_request", description: "Basic"},
		{name: "two authentication methods", body: form("grant_type", cc, "client_secret", sec, "audience", audience), mod: basic(id, sec), status: 400, code: "invalid_request", description: "more than one authentication method"},
		{name: "basic and other client_id", body: form("grant_type", cc, "client_id", "someone-else", "audience", audience), mod: basic(id, sec), status: 400, code: "invalid_request", description: "does not match"},
		{name: "grant type not allowed", body: form("grant_type", cc, "client_id", "nocc", "client_secret", noCCSecret.Plain, "audience", audience), status: 400, code: "unauthorized_client"},
		{name: "unknown grant type", body: form("grant_type", "password", "client_id", id, "client_secret", sec), status: 400, code: "unsupported_grant_type"},
		{name: "no audience", body: form("grant_type", cc, "client_id", id, "client_secret", sec), status: 400, code: "invalid_request", description: "audience"},
		{name: "empty audience is omitted", body: form("grant_type", cc, "client_id", id, "client_secret", sec, "audience", ""), status: 400, code: "invalid_request", description: "audience"},
		{name: "unregistered audience", body: form("grant_type", cc, "client_id", id, "client_secret", sec, "audience", "https://nope.test"), status: 400, code: "invalid_target"},
		{name: "several resources", body: form("grant_type", cc, "client_id", id, "client_secret", sec, "resource", audience, "resource", other), status: 400, code: "invalid_target"},
		{name: "audience and resource differ", body: form("grant_type", cc, "client_id", id, "client_secret", sec, "audience", audience, "resource", other), status: 400, code: "invalid_request"},
		{name: "no grant for the API", body: form("grant_type", cc, "client_id", id, "client_secret", sec, "audience", other), status: 403, code: "access_denied", description: `Client "` + id + `" is not authorized to access "` + other + `"`},
		{name: "no requested scope granted", body: form("grant_type", cc, "client_id", id, "client_secret", sec, "audience", audience, "scope", "admin delete"), status: 400, code: "invalid_scope"},
		{name: "malformed scope", body: form("grant_type", cc, "client_id", id, "client_secret", sec, "audience", audience, "scope", `read "x"`), status: 400, code: "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			ct := tc.ct
			switch ct {
			case "":
				ct = formCT
			case "-":
				ct = ""
			}
			r := f.do(method, tc.query, ct, tc.body, tc.mod)
			if r.status != tc.status || r.str("error") != tc.code {
				t.Fatalf("got %d %v, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
			if tc.description != "" {
				mustContain(t, r.str("error_description"), tc.description)
			}
			if _, ok := r.raw["access_token"]; ok {
				t.Fatal("an error response carries a token")
			}
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Fatalf("Cache-Control %q", got)
			}
			if got := r.header.Get("Content-Type"); got != "application/json" {
				t.Fatalf("Content-Type %q", got)
			}
			switch {
			case tc.status == 405:
				if got := r.header.Get("Allow"); got != "POST" {
					t.Fatalf("Allow %q", got)
				}
			case tc.status == 401 && tc.mod != nil:
				mustContain(t, r.header.Get("WWW-Authenticate"), "Basic")
			case tc.status == 401:
				if got := r.header.Get("WWW-Authenticate"); got != "" {
					t.Fatalf("WWW-Authenticate %q without Basic", got)
				}
			}
		})
	}
}

// TestUnknownClientAndWrongSecretAlike checks that the two answers cannot be
// told apart by their bodies.
func TestUnknownClientAndWrongSecretAlike(t *testing.T) {
	f := newFixture(t)
	a := f.postForm("grant_type", "client_credentials", "client_id", "nobody", "client_secret", "x", "audience", audience)
	b := f.postForm("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", "x", "audience", audience)
	if a.status != b.status || a.str("error") != b.str("error") || a.str("error_description") != b.str("error_description") {
		t.Fatalf("unknown client %v vs wrong secret %v", a.raw, b.raw)
	}
}

// TestTokenSuccess covers every success path of docs/reference/protocol.md.
func TestTokenSuccess(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	cc := "client_credentials"
	id, sec := f.clientID, f.secret
	for _, alg := range admin.SigningAlgs {
		aud := "https://" + strings.ToLower(alg) + ".test"
		if _, err := f.admin.CreateAPI(ctx, admin.APIInput{Identifier: aud, SigningAlg: alg, Scopes: scopes("x")}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.admin.CreateGrant(ctx, id, aud, []string{"x"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.admin.CreateAPI(ctx, admin.APIInput{Identifier: "https://auth0.test", TokenDialect: storage.DialectAuth0, TokenLifetime: time.Hour, Scopes: scopes("r")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.CreateGrant(ctx, id, "https://auth0.test", []string{"r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.CreateAPI(ctx, admin.APIInput{Identifier: "https://noscope.test", Scopes: scopes("r")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.CreateGrant(ctx, id, "https://noscope.test", nil); err != nil {
		t.Fatal(err)
	}
	f.sync()

	type want struct {
		aud, scope, alg, typ, sub string
		expiresIn                 int64
	}
	rfc := func(aud, scope, alg string) want {
		return want{aud: aud, scope: scope, alg: alg, typ: "at+jwt", sub: id, expiresIn: 86400}
	}
	tests := []struct {
		name string
		send func() tokenResponse
		want want
	}{
		{"form post", func() tokenResponse {
			return f.postForm("grant_type", cc, "client_id", id, "client_secret", sec, "audience", audience)
		}, rfc(audience, "read write", "RS256")},
		{"json post", func() tokenResponse {
			return f.postJSON(map[string]any{"grant_type": cc, "client_id": id, "client_secret": sec, "audience": audience, "extra": 1})
		}, rfc(audience, "read write", "RS256")},
		{"json with charset", func() tokenResponse {
			return f.do(http.MethodPost, "", "application/json; charset=utf-8", []byte(`{"grant_type":"client_credentials","client_id":"`+id+`","client_secret":"`+sec+`","audience":"`+audience+`"}`), nil)
		}, rfc(audience, "read write", "RS256")},
		{"basic", func() tokenResponse {
			return f.do(http.MethodPost, "", "application/x-www-form-urlencoded", form("grant_type", cc, "audience", audience), basic(id, sec))
		}, rfc(audience, "read write", "RS256")},
		{"basic with matching client_id", func() tokenResponse {
			return f.do(http.MethodPost, "", "application/x-www-form-urlencoded", form("grant_type", cc, "client_id", id, "audience", audience), basic(id, sec))
		}, rfc(audience, "read write", "RS256")},
		{"resource", func() tokenResponse {
			return f.postForm("grant_type", cc, "client_id", id, "client_secret", sec, "resource", audience)
		}, rfc(audience, "read write", "RS256")},
		{"json resource array of one", func() tokenResponse {
			return f.postJSON(map[string]any{"grant_type": cc, "client_id": id, "client_secret": sec, "resource": []string{audience}})
		}, rfc(audience, "read write", "RS256")},
		{"audience equal to resource", func() tokenResponse {
			return f.postForm("grant_type", cc, "client_id", id, "client_secret", sec, "resource", audience, "audience", audience)
		}, rfc(audience, "read write", "RS256")},
		{"narrowed scope", func() tokenResponse {
			return f.postForm("grant_type", cc, "client_id", id, "client_secret", sec, "audience", audience, "scope", "write")
		}, rfc(audience, "write", "RS256")},
		{"partly granted scope", func() tokenResponse {
			return f.postForm("grant_type", cc, "client_id", id, "client_secret", sec, "audience", audience, "scope", "admin read")
		}, rfc(audience, "read", "RS256")},
		{"grant without scopes", func() tokenResponse {
			return f.postForm("grant_type", cc, "client_id", id, "client_secret", sec, "audience", "https://noscope.test")
		}, rfc("https://noscope.test", "", "RS256")},
		{"auth0 dialect", func() tokenResponse {
			return f.postForm("grant_type", cc, "client_id", id, "client_secret", sec, "audience", "https://auth0.test")
		}, want{aud: "https://auth0.test", scope: "r", alg: "RS256", typ: "JWT", sub: id + "@clients", expiresIn: 3600}},
	}
	for _, alg := range admin.SigningAlgs {
		aud := "https://" + strings.ToLower(alg) + ".test"
		tests = append(tests, struct {
			name string
			send func() tokenResponse
			want want
		}{"alg " + alg, func() tokenResponse {
			return f.postForm("grant_type", cc, "client_id", id, "client_secret", sec, "audience", aud)
		}, rfc(aud, "x", alg)})
	}
	jtis := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Unix()
			r := tc.send()
			if r.status != 200 {
				t.Fatalf("status %d: %v", r.status, r.raw)
			}
			if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
				t.Fatalf("caching headers %v", r.header)
			}
			if r.str("token_type") != "Bearer" || r.raw["expires_in"] != float64(tc.want.expiresIn) {
				t.Fatalf("response %v", r.raw)
			}
			if s, ok := r.raw["scope"].(string); !ok || s != tc.want.scope {
				t.Fatalf("scope %v, want %q", r.raw["scope"], tc.want.scope)
			}
			if _, ok := r.raw["refresh_token"]; ok {
				t.Fatal("refresh token issued for client_credentials (RFC 6749 §4.4.3)")
			}
			h, c := f.verify(r.str("access_token"))
			if string(h.Algorithm) != tc.want.alg || h.ExtraHeaders["typ"] != tc.want.typ || h.KeyID == "" {
				t.Fatalf("header alg %s typ %v kid %q", h.Algorithm, h.ExtraHeaders["typ"], h.KeyID)
			}
			if c["iss"] != f.issuer || c["aud"] != tc.want.aud || c["sub"] != tc.want.sub ||
				c["client_id"] != id || c["azp"] != id || c["gty"] != "client-credentials" {
				t.Fatalf("claims %v", c)
			}
			if tc.want.scope == "" {
				if _, ok := c["scope"]; ok {
					t.Fatalf("scope claim present for a grant without scopes: %v", c)
				}
			} else if c["scope"] != tc.want.scope {
				t.Fatalf("scope claim %v", c["scope"])
			}
			iat, exp := int64(c["iat"].(float64)), int64(c["exp"].(float64))
			if iat < before-1 || iat > time.Now().Unix()+1 || exp-iat != tc.want.expiresIn {
				t.Fatalf("iat %d exp %d", iat, exp)
			}
			jti, _ := c["jti"].(string)
			if len(jti) < 16 || jtis[jti] {
				t.Fatalf("jti %q missing or reused", jti)
			}
			jtis[jti] = true
		})
	}
}

func TestDefaultAudience(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.DefaultAudience = audience })
	r := f.postForm("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret)
	if r.status != 200 {
		t.Fatalf("status %d %v", r.status, r.raw)
	}
	if _, c := f.verify(r.str("access_token")); c["aud"] != audience {
		t.Fatalf("aud %v", c["aud"])
	}
}
