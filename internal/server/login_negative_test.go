package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

const pkceVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 Appendix B

// authURL is an authorization request of client to cb with PKCE S256.
func (f *loginFixture) authURL(clientID, cb, scope string) string {
	return strings.TrimRight(f.issuer, "/") + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {cb}, "scope": {scope}, "state": {"st"},
		"code_challenge": {oauth.S256Challenge(pkceVerifier)}, "code_challenge_method": {"S256"}, "audience": {loginAPI},
	}.Encode()
}

// code logs in with a new browser and returns a fresh code.
func (f *loginFixture) code(clientID, cb, scope string) string {
	f.t.Helper()
	to := f.browser().login(f.authURL(clientID, cb, scope))
	c := to.Query().Get("code")
	if c == "" {
		f.t.Fatalf("no code in %s", to)
	}
	return c
}

type tokenReply struct {
	status int
	body   map[string]string
	header http.Header
}

// token posts a token request (form) with the web client's credentials
// when withSecret.
func (f *loginFixture) token(form url.Values) tokenReply {
	f.t.Helper()
	resp, err := http.PostForm(strings.TrimRight(f.issuer, "/")+"/oauth/token", form)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	out := tokenReply{status: resp.StatusCode, body: map[string]string{}, header: resp.Header}
	for k, v := range raw {
		s, _ := v.(string)
		out.body[k] = s
	}
	return out
}

func (f *loginFixture) webCode(code string, mod func(url.Values)) url.Values {
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webCB}, "code_verifier": {pkceVerifier},
		"client_id": {f.web.ClientID}, "client_secret": {f.webSecret}}
	if mod != nil {
		mod(v)
	}
	return v
}

func wantError(t *testing.T, r tokenReply, status int, code string) {
	t.Helper()
	if r.status != status || r.body["error"] != code {
		t.Errorf("status %d %v, want %d %s", r.status, r.body, status, code)
	}
	if r.body["access_token"] != "" || r.body["refresh_token"] != "" {
		t.Errorf("an error came with tokens: %v", r.body)
	}
}

// TestCodeGrantErrors: every wrong redemption is invalid_grant (RFC 6749
// §5.2), one case per binding of the code.
func TestCodeGrantErrors(t *testing.T) {
	f := newLoginFixture(t)
	tests := []struct {
		name   string
		before func()
		mod    func(url.Values)
		status int
		want   string
	}{
		{"missing code_verifier", nil, func(v url.Values) { v.Del("code_verifier") }, 400, "invalid_grant"},
		{"wrong code_verifier", nil, func(v url.Values) { v.Set("code_verifier", strings.Repeat("x", 43)) }, 400, "invalid_grant"},
		{"the challenge as verifier (plain)", nil, func(v url.Values) { v.Set("code_verifier", oauth.S256Challenge(pkceVerifier)) }, 400, "invalid_grant"},
		{"other redirect_uri", nil, func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:1/other") }, 400, "invalid_grant"},
		{"no redirect_uri", nil, func(v url.Values) { v.Del("redirect_uri") }, 400, "invalid_grant"},
		{"unknown code", nil, func(v url.Values) { v.Set("code", "nope") }, 400, "invalid_grant"},
		{"no code", nil, func(v url.Values) { v.Del("code") }, 400, "invalid_request"},
		{"expired code", func() { f.advance(61 * time.Second) }, nil, 400, "invalid_grant"},
		{"confidential client without its secret", nil, func(v url.Values) { v.Del("client_secret") }, 401, "invalid_client"},
		{"wrong secret", nil, func(v url.Values) { v.Set("client_secret", "wrong") }, 401, "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code := f.code(f.web.ClientID, webCB, "openid read")
			if tc.before != nil {
				tc.before()
			}
			wantError(t, f.token(f.webCode(code, tc.mod)), tc.status, tc.want)
		})
	}
	t.Run("code of another client", func(t *testing.T) {
		code := f.code(f.spa.ClientID, spaCB, "openid")
		wantError(t, f.token(f.webCode(code, func(v url.Values) { v.Set("redirect_uri", spaCB) })), 400, "invalid_grant")
	})
	t.Run("a failed redemption uses the code up", func(t *testing.T) {
		code := f.code(f.web.ClientID, webCB, "openid")
		wantError(t, f.token(f.webCode(code, func(v url.Values) { v.Set("code_verifier", strings.Repeat("y", 43)) })), 400, "invalid_grant")
		wantError(t, f.token(f.webCode(code, nil)), 400, "invalid_grant")
	})
}

// TestCodeReuseRevokes: the second use of a code fails and revokes the
// refresh token the first use issued (RFC 6749 §4.1.2).
func TestCodeReuseRevokes(t *testing.T) {
	f := newLoginFixture(t)
	code := f.code(f.web.ClientID, webCB, "openid offline_access read")
	first := f.token(f.webCode(code, nil))
	if first.status != 200 || first.body["refresh_token"] == "" || first.body["id_token"] == "" || first.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("first redemption: %d %v %v", first.status, first.body, first.header)
	}
	wantError(t, f.token(f.webCode(code, nil)), 400, "invalid_grant")
	r := f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.body["refresh_token"]},
		"client_id": {f.web.ClientID}, "client_secret": {f.webSecret}})
	wantError(t, r, 400, "invalid_grant")
}

// TestRefreshTokens: rotation, replay revoking the family, narrowing,
// binding to the client and the user, idle and absolute lifetimes.
func TestRefreshTokens(t *testing.T) {
	f := newLoginFixture(t)
	refresh := func(rt string, mod func(url.Values)) tokenReply {
		v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.web.ClientID}, "client_secret": {f.webSecret}}
		if mod != nil {
			mod(v)
		}
		return f.token(v)
	}
	login := func() string {
		r := f.token(f.webCode(f.code(f.web.ClientID, webCB, "openid offline_access read"), nil))
		if r.body["refresh_token"] == "" {
			t.Fatalf("no refresh token: %v", r.body)
		}
		return r.body["refresh_token"]
	}

	t.Run("replay revokes the family", func(t *testing.T) {
		r1 := login()
		second := refresh(r1, nil)
		if second.status != 200 || second.body["refresh_token"] == "" || second.body["refresh_token"] == r1 {
			t.Fatalf("rotation: %d %v", second.status, second.body)
		}
		wantError(t, refresh(r1, nil), 400, "invalid_grant")
		wantError(t, refresh(second.body["refresh_token"], nil), 400, "invalid_grant") // the family is gone
	})
	t.Run("narrower scope only", func(t *testing.T) {
		rt := login()
		r := refresh(rt, func(v url.Values) { v.Set("scope", "read") })
		if r.status != 200 || r.body["scope"] != "read" || r.body["id_token"] != "" {
			t.Fatalf("narrowed: %d %v", r.status, r.body)
		}
		wantError(t, refresh(r.body["refresh_token"], func(v url.Values) { v.Set("scope", "read write") }), 400, "invalid_scope")
	})
	t.Run("another client", func(t *testing.T) {
		rt := login()
		wantError(t, f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.spa.ClientID}}), 400, "invalid_grant")
	})
	t.Run("unknown", func(t *testing.T) {
		wantError(t, refresh("nope", nil), 400, "invalid_grant")
		wantError(t, refresh("", nil), 400, "invalid_request")
	})
	t.Run("idle lifetime", func(t *testing.T) {
		rt := login()
		f.advance(15*24*time.Hour + time.Second)
		wantError(t, refresh(rt, nil), 400, "invalid_grant")
	})
	t.Run("absolute lifetime", func(t *testing.T) {
		rt := login()
		for day := 10; day < 30; day += 10 {
			f.advance(10 * 24 * time.Hour)
			r := refresh(rt, nil)
			if r.status != 200 {
				t.Fatalf("day %d: %d %v", day, r.status, r.body)
			}
			rt = r.body["refresh_token"]
		}
		f.advance(10 * 24 * time.Hour)
		wantError(t, refresh(rt, nil), 400, "invalid_grant")
	})
	t.Run("disabled user", func(t *testing.T) {
		rt := login()
		if _, err := f.admin.SetUserDisabled(t.Context(), f.user.UserID, true); err != nil {
			t.Fatal(err)
		}
		defer f.admin.SetUserDisabled(t.Context(), f.user.UserID, false)
		wantError(t, refresh(rt, nil), 400, "invalid_grant")
	})
}

// TestPublicClient: a public client redeems with its client_id alone and
// cannot use client_credentials; without offline_access no refresh token.
func TestPublicClient(t *testing.T) {
	f := newLoginFixture(t)
	code := f.code(f.spa.ClientID, spaCB, "openid email")
	r := f.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {spaCB},
		"code_verifier": {pkceVerifier}, "client_id": {f.spa.ClientID}})
	if r.status != 200 || r.body["id_token"] == "" || r.body["refresh_token"] != "" {
		t.Fatalf("public redemption: %d %v", r.status, r.body)
	}
	if at := claims(t, r.body["access_token"]); at["scope"] != "openid email" {
		t.Errorf("scope %v", at["scope"])
	}
	wantError(t, f.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {f.spa.ClientID}, "audience": {loginAPI}}), 401, "invalid_client")
}

// TestUserinfoErrors: RFC 6750 §3 answers for missing, bad and unfit tokens.
func TestUserinfoErrors(t *testing.T) {
	f := newLoginFixture(t)
	ui := strings.TrimRight(f.issuer, "/") + "/userinfo"
	apiOnly := f.token(f.webCode(f.code(f.web.ClientID, webCB, "read"), nil)).body["access_token"]
	to := f.browser().login(strings.Replace(f.authURL(f.web.ClientID, webCB, "profile"), "audience=", "x=", 1))
	noOpenID := f.token(f.webCode(to.Query().Get("code"), nil)).body["access_token"]
	if c := claims(t, noOpenID); c["aud"] != strings.TrimRight(f.issuer, "/")+"/userinfo" || c["scope"] != "profile" {
		t.Fatalf("an audience-less token: %v", c)
	}
	tests := []struct {
		name   string
		token  string
		status int
		want   string
	}{
		{"no token", "", 401, ""},
		{"garbage", "not-a-jwt", 401, "invalid_token"},
		{"an API's token without openid", apiOnly, 401, "invalid_token"},
		{"no openid scope", noOpenID, 403, "insufficient_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, ui, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			wa := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != tc.status || !strings.HasPrefix(wa, "Bearer") || (tc.want != "" && !strings.Contains(wa, `error="`+tc.want+`"`)) {
				t.Errorf("%d %q, want %d %s", resp.StatusCode, wa, tc.status, tc.want)
			}
		})
	}
}

// TestLogoutRedirects: RP-initiated logout never redirects to a URL the
// client did not allow (open redirects refused) and echoes state.
func TestLogoutRedirects(t *testing.T) {
	f := newLoginFixture(t)
	lo := strings.TrimRight(f.issuer, "/") + "/oidc/logout?"
	tests := []struct {
		name string
		q    url.Values
	}{
		{"unregistered URL", url.Values{"client_id": {f.web.ClientID}, "post_logout_redirect_uri": {"https://evil.example.com/"}}},
		{"a redirect URI is no logout URL", url.Values{"client_id": {f.web.ClientID}, "post_logout_redirect_uri": {webCB}}},
		{"no client", url.Values{"post_logout_redirect_uri": {logoutURL}}},
		{"unknown client", url.Values{"client_id": {"nope"}, "post_logout_redirect_uri": {logoutURL}}},
		{"another client's URL", url.Values{"client_id": {f.spa.ClientID}, "post_logout_redirect_uri": {logoutURL}}},
		{"forged hint", url.Values{"id_token_hint": {"eyJhbGciOiJub25lIn0.e30."}, "post_logout_redirect_uri": {logoutURL}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := f.browser().get(lo + tc.q.Encode())
			if p.status != 400 || p.to != nil || !strings.Contains(p.body, `role="alert"`) {
				t.Errorf("%d %v: want an error page, no redirect", p.status, p.to)
			}
		})
	}
	t.Run("without a hint the user confirms", func(t *testing.T) {
		b := f.browser()
		b.login(f.authURL(f.spa.ClientID, spaCB, "openid"))
		p := b.get(lo + url.Values{"client_id": {f.web.ClientID}, "post_logout_redirect_uri": {logoutURL}, "state": {"s1"}}.Encode())
		if p.to != nil || !strings.Contains(p.body, ">Log out</button>") {
			t.Fatalf("want the confirmation page: %d %v", p.status, p.to)
		}
		p = b.submit(p, "/oidc/logout", "confirm", "yes")
		if p.to == nil || p.to.String() != logoutURL+"?state=s1" {
			t.Fatalf("after confirming: %d %v", p.status, p.to)
		}
		if back := b.get(f.authURL(f.spa.ClientID, spaCB, "openid") + "&prompt=none"); back.to == nil || back.to.Query().Get("error") != "login_required" {
			t.Errorf("the session survived the logout: %v", back.to)
		}
	})
}

// TestNoOfflineAccess: offline_access gives no refresh token for an API
// that does not allow offline access, nor to a client without the
// refresh_token grant; without an API (userinfo only) it does.
func TestNoOfflineAccess(t *testing.T) {
	f := newLoginFixture(t)
	to := f.browser().login(strings.Replace(f.authURL(f.web.ClientID, webCB, "openid offline_access read"), url.QueryEscape(loginAPI), url.QueryEscape(onlineAPI), 1))
	r := f.token(f.webCode(to.Query().Get("code"), nil))
	if r.status != 200 || r.body["refresh_token"] != "" || r.body["scope"] != "openid read" {
		t.Errorf("online-only API: %d %v", r.status, r.body)
	}
	to = f.browser().login(strings.Replace(f.authURL(f.web.ClientID, webCB, "openid offline_access"), "audience=", "x=", 1))
	if r = f.token(f.webCode(to.Query().Get("code"), nil)); r.status != 200 || r.body["refresh_token"] == "" {
		t.Errorf("userinfo only: %d %v", r.status, r.body)
	}
}

// TestLoginCleanup: a running server deletes login state that expired over
// a day ago (it runs at start, then hourly) and keeps what is live.
func TestLoginCleanup(t *testing.T) {
	f := newLoginFixture(t)
	ctx := t.Context()
	old := storage.LoginSession{ID: "old", UserID: f.user.UserID, ExpiresAt: f.clock().Add(-server.LoginCleanupGrace - time.Hour)}
	live := storage.LoginSession{ID: "live", UserID: f.user.UserID, ExpiresAt: f.clock().Add(-time.Hour)} // expired, within the grace
	for _, s := range []storage.LoginSession{old, live} {
		if err := f.store.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// A second server on the same database runs the cleanup at its start.
	cfg := config.Default()
	cfg.Issuer = f.issuer
	srv, err := server.New(ctx, cfg, f.store, make([]byte, 32), server.Options{Now: f.clock, GenerateKey: testutil.KeyGenerator()})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	wait := srv.Start(sctx)
	defer func() { cancel(); wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := f.store.GetSession(ctx, "old")
		if errors.Is(err, storage.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired session is still there: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := f.store.GetSession(ctx, "live"); err != nil {
		t.Errorf("the session within the grace was deleted: %v", err)
	}
}

// TestLoginAudited: logins (failed and successful), consent, a code's
// reuse and the logout are in the audit trail, never the password or the
// email typed.
func TestLoginAudited(t *testing.T) {
	f := newLoginFixture(t)
	b := f.browser()
	p := b.get(f.authURL(f.web.ClientID, webCB, "openid offline_access read"))
	p = b.submit(p, "/authorize/login", "email", aliceEmail, "password", "wrong password")
	p = b.submit(p, "/authorize/login", "email", "nobody@example.com", "password", "wrong password")
	p = b.submit(p, "/authorize/login", "email", aliceEmail, "password", alicePW)
	p = b.submit(p, "/authorize/consent", "decision", "allow")
	code := p.to.Query().Get("code")
	first := f.token(f.webCode(code, nil))
	f.token(f.webCode(code, nil))
	b.get(strings.TrimRight(f.issuer, "/") + "/oidc/logout?" + url.Values{"id_token_hint": {first.body["id_token"]}}.Encode())

	events, err := f.store.ListAudit(t.Context(), storage.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ actor, action, target, outcome, reason string }
	got := map[key]bool{}
	for _, e := range events {
		got[key{e.Actor, e.Action, e.Target, e.Outcome, e.Details["reason"]}] = true
		text := fmt.Sprintf("%+v", e)
		for _, s := range []string{alicePW, "wrong password", aliceEmail, "nobody@example.com", code, first.body["refresh_token"]} {
			if strings.Contains(text, s) {
				t.Errorf("audit event %s holds %q", e.Action, s)
			}
		}
	}
	uid, cid := f.user.UserID, f.web.ClientID
	for _, k := range []key{
		{uid, storage.AuditUserLogin, cid, storage.OutcomeFailure, "wrong_password"},
		{"anonymous", storage.AuditUserLogin, cid, storage.OutcomeFailure, "unknown_user"},
		{uid, storage.AuditUserLogin, cid, storage.OutcomeSuccess, ""},
		{uid, storage.AuditConsentGranted, cid, storage.OutcomeSuccess, ""},
		{cid, storage.AuditCodeReused, uid, storage.OutcomeFailure, ""},
		{uid, storage.AuditUserLogout, cid, storage.OutcomeSuccess, ""},
	} {
		if !got[k] {
			t.Errorf("no audit event %+v in %+v", k, events)
		}
	}
}

// TestLoginSettings: --login-code-lifetime and --login-failure-limit reach
// the login flow.
func TestLoginSettings(t *testing.T) {
	f := newLoginFixture(t, func(c *config.Config) { c.LoginCodeLifetime = 5 * time.Second; c.LoginFailureLimit = 1 })
	code := f.code(f.web.ClientID, webCB, "openid")
	f.advance(6 * time.Second)
	wantError(t, f.token(f.webCode(code, nil)), 400, "invalid_grant")

	b := f.browser()
	p := b.get(f.authURL(f.web.ClientID, webCB, "openid"))
	if p = b.submit(p, "/authorize/login", "email", aliceEmail, "password", "wrong"); p.status != http.StatusUnauthorized {
		t.Fatalf("first failure: %d", p.status)
	}
	if p = b.submit(p, "/authorize/login", "email", aliceEmail, "password", alicePW); p.status != http.StatusTooManyRequests {
		t.Errorf("after one failure with a limit of 1: %d, want 429", p.status)
	}
}

// TestPasswordChangeEndsLogins: a new password (or disabling the user)
// ends the sessions and revokes the refresh tokens of the old logins.
func TestPasswordChangeEndsLogins(t *testing.T) {
	f := newLoginFixture(t)
	b := f.browser()
	to := b.login(f.authURL(f.web.ClientID, webCB, "openid offline_access read"))
	rt := f.token(f.webCode(to.Query().Get("code"), nil)).body["refresh_token"]
	if _, err := f.admin.SetUserPassword(t.Context(), f.user.UserID, "an entirely new passphrase"); err != nil {
		t.Fatal(err)
	}
	wantError(t, f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.web.ClientID}, "client_secret": {f.webSecret}}), 400, "invalid_grant")
	if p := b.get(f.authURL(f.web.ClientID, webCB, "openid") + "&prompt=none"); p.to == nil || p.to.Query().Get("error") != "login_required" {
		t.Errorf("the session survived the password change: %v", p.to)
	}
}
