package authorize_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/authorize"
)

// TestErrorPages: without a known client and a registered redirect URI,
// the browser is shown an error page and never redirected (RFC 6749
// §4.1.2.1, RFC 9700 §4.1.1: no open redirector).
func TestErrorPages(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		mod  func(url.Values)
		want string
	}{
		{"no client_id", func(v url.Values) { v.Del("client_id") }, "no client_id"},
		{"unknown client", func(v url.Values) { v.Set("client_id", "nope") }, "unknown or disabled"},
		{"M2M client", func(v url.Values) { v.Set("client_id", e.m2m.ClientID) }, "not registered"},
		{"unregistered redirect", func(v url.Values) { v.Set("redirect_uri", "https://evil.example.com/cb") }, "not registered"},
		{"redirect with extra path", func(v url.Values) { v.Set("redirect_uri", webCB+"/../evil") }, "not registered"},
		{"redirect with extra query", func(v url.Values) { v.Set("redirect_uri", webCB+"?next=https://evil.example.com") }, "not registered"},
		{"redirect prefix", func(v url.Values) { v.Set("redirect_uri", "https://app.example.com/c") }, "not registered"},
		{"redirect in another case", func(v url.Values) { v.Set("redirect_uri", "https://APP.example.com/cb") }, "not registered"},
		{"redirect with fragment", func(v url.Values) { v.Set("redirect_uri", webCB+"#x") }, "not registered"},
		{"another client's redirect", func(v url.Values) { v.Set("redirect_uri", spaCB) }, "not registered"},
		{"no redirect, two registered", func(v url.Values) { v.Del("redirect_uri") }, "registered more than one"},
		{"client_id twice", func(v url.Values) { v.Add("client_id", e.web.ClientID) }, "more than once"},
		{"redirect_uri twice", func(v url.Values) { v.Add("redirect_uri", webCB) }, "more than once"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.browser().get(authorize.Path, e.authz(tc.mod))
			if r.status != http.StatusBadRequest || r.location != nil || r.header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q: want 400 and no redirect", r.status, r.header.Get("Location"))
			}
			if !strings.Contains(r.body, tc.want) || !strings.Contains(r.body, `role="alert"`) {
				t.Errorf("error page does not say %q: %s", tc.want, r.body)
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || r.header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("headers %v", r.header)
			}
		})
	}
}

// wantRedirect checks that r sends the browser to base with the error (or
// a code when code is ""), the state and iss (RFC 9207).
func (e *env) wantRedirect(t *testing.T, r resp, base, wantErr, state string) url.Values {
	t.Helper()
	if r.status != http.StatusFound || r.location == nil {
		t.Fatalf("status %d, body %.300s: want a redirect to the client", r.status, r.body)
	}
	loc := *r.location
	q := loc.Query()
	loc.RawQuery = ""
	if b, _ := url.Parse(base); loc.String() != (&url.URL{Scheme: b.Scheme, Host: b.Host, Path: b.Path}).String() {
		t.Errorf("redirected to %s, want %s", r.location, base)
	}
	if q.Get("iss") != e.issuer {
		t.Errorf("iss = %q, want %q (RFC 9207)", q.Get("iss"), e.issuer)
	}
	if q.Get("state") != state {
		t.Errorf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("error") != wantErr {
		t.Errorf("error = %q (%s), want %q", q.Get("error"), q.Get("error_description"), wantErr)
	}
	if wantErr != "" && (q.Get("error_description") == "" || q.Get("code") != "") {
		t.Errorf("error redirect %v: want a description and no code", q)
	}
	if wantErr == "" && q.Get("code") == "" {
		t.Errorf("no code in %v", q)
	}
	return q
}

// TestRedirectErrors: once the client and redirect URI are known, errors
// go back to the client with error, error_description, state and iss.
func TestRedirectErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		mod  func(url.Values)
		want string
	}{
		{"no response_type", func(v url.Values) { v.Del("response_type") }, "invalid_request"},
		{"implicit", func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type"},
		{"hybrid", func(v url.Values) { v.Set("response_type", "code id_token") }, "unsupported_response_type"},
		{"no code_challenge", func(v url.Values) { v.Del("code_challenge") }, "invalid_request"},
		{"no code_challenge_method (plain by default)", func(v url.Values) { v.Del("code_challenge_method") }, "invalid_request"},
		{"plain", func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"short challenge", func(v url.Values) { v.Set("code_challenge", "abc") }, "invalid_request"},
		{"unknown audience", func(v url.Values) { v.Set("audience", "https://nope.example.com/") }, "invalid_target"},
		{"audience and resource differ", func(v url.Values) { v.Set("resource", "https://other.example.com/") }, "invalid_request"},
		{"two resources", func(v url.Values) { v.Del("audience"); v["resource"] = []string{apiID, apiID + "x"} }, "invalid_target"},
		{"resource not an absolute URI (RFC 8707 §2)", func(v url.Values) { v.Del("audience"); v.Set("resource", "orders-api") }, "invalid_target"},
		{"malformed scope", func(v url.Values) { v.Set("scope", "openid \"x\"") }, "invalid_scope"},
		{"request object", func(v url.Values) { v.Set("request", "eyJ...") }, "request_not_supported"},
		{"request_uri", func(v url.Values) { v.Set("request_uri", "https://x/") }, "request_uri_not_supported"},
		{"prompt none with login", func(v url.Values) { v.Set("prompt", "none login") }, "invalid_request"},
		{"bad max_age", func(v url.Values) { v.Set("max_age", "-1") }, "invalid_request"},
		{"scope twice", func(v url.Values) { v.Add("scope", "openid") }, "invalid_request"},
		{"prompt none without a session", func(v url.Values) { v.Set("prompt", "none") }, "login_required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.browser().get(authorize.Path, e.authz(tc.mod))
			e.wantRedirect(t, r, webCB, tc.want, "st-123")
		})
	}
	t.Run("registered query kept", func(t *testing.T) {
		r := e.browser().get(authorize.Path, e.authz(func(v url.Values) {
			v.Set("redirect_uri", "https://app.example.com/cb2?keep=1")
			v.Del("response_type")
		}))
		q := e.wantRedirect(t, r, "https://app.example.com/cb2", "invalid_request", "st-123")
		if q.Get("keep") != "1" {
			t.Errorf("the registered URI's query was dropped: %v", q)
		}
	})
	t.Run("state twice", func(t *testing.T) {
		r := e.browser().get(authorize.Path, e.authz(func(v url.Values) { v.Add("state", "other") }))
		e.wantRedirect(t, r, webCB, "invalid_request", "")
	})
	t.Run("openid without redirect_uri", func(t *testing.T) {
		r := e.browser().get(authorize.Path, e.authz(func(v url.Values) {
			v.Set("client_id", e.spa.ClientID) // one registered URI: OAuth 2.1 lets it be omitted, OIDC does not
			v.Del("redirect_uri")
		}))
		e.wantRedirect(t, r, spaCB, "invalid_request", "st-123")
	})
	t.Run("OAuth without redirect_uri: the one registered", func(t *testing.T) {
		r := e.browser().get(authorize.Path, e.authz(func(v url.Values) {
			v.Set("client_id", e.spa.ClientID)
			v.Del("redirect_uri")
			v.Set("scope", "read:things")
			v.Set("prompt", "none")
		}))
		e.wantRedirect(t, r, spaCB, "login_required", "st-123")
	})
	t.Run("no state", func(t *testing.T) {
		r := e.browser().get(authorize.Path, e.authz(func(v url.Values) { v.Del("state"); v.Del("response_type") }))
		q := e.wantRedirect(t, r, webCB, "invalid_request", "")
		if _, ok := q["state"]; ok {
			t.Errorf("state sent though none was given: %v", q)
		}
	})
	t.Run("POST", func(t *testing.T) {
		r := e.browser().post(authorize.Path, e.authz(func(v url.Values) { v.Set("prompt", "none") }))
		e.wantRedirect(t, r, webCB, "login_required", "st-123")
	})
}

// TestLoginConsentCode walks the pages: login, consent (remembered), code.
func TestLoginConsentCode(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	b := e.browser()
	r := b.get(authorize.Path, e.authz(func(v url.Values) { v.Set("unknown_param", "ignored") }))
	if r.status != http.StatusOK || !strings.Contains(r.body, `<label for="password">Password</label>`) ||
		!strings.Contains(r.body, `<button type="submit">Log in</button>`) || !strings.Contains(r.body, "Web App") {
		t.Fatalf("login page: %d %s", r.status, r.body)
	}
	r = b.logIn(r, "alice@example.com", "wrong password")
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong email or password.") {
		t.Fatalf("wrong password: %d %s", r.status, r.body)
	}
	r = b.logIn(r, "ALICE@example.com", password)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Read your things (read:things)") || !strings.Contains(r.body, "See your email address") {
		t.Fatalf("consent page: %d %s", r.status, r.body)
	}
	r = b.decide(r, "allow")
	q := e.wantRedirect(t, r, webCB, "", "st-123")

	code, err := e.store.RedeemAuthCode(ctx, authorize.CodeID(q.Get("code")), "", "", e.clock())
	if err != nil {
		t.Fatalf("the code is not stored: %v", err)
	}
	if code.ClientID != e.web.ClientID || code.UserID != e.user.UserID || code.RedirectURI != webCB || code.Nonce != "n-1" ||
		code.CodeChallenge != challenge || code.Audience != apiID || strings.Join(code.Scope, " ") != "openid profile email read:things" ||
		!code.ExpiresAt.Equal(e.clock().Add(authorize.DefaultCodeLifetime)) || !code.AuthTime.Equal(e.clock()) {
		t.Errorf("stored code %+v", code)
	}
	if len(q.Get("code")) < 43 {
		t.Errorf("code %q is shorter than 256 bits", q.Get("code"))
	}

	// The consent is remembered: the next request gets a code at once,
	// even with prompt=none; a scope not yet allowed asks again.
	e.wantRedirect(t, b.get(authorize.Path, e.authz(nil)), webCB, "", "st-123")
	e.wantRedirect(t, b.get(authorize.Path, e.authz(func(v url.Values) { v.Set("prompt", "none") })), webCB, "", "st-123")
	e.wantRedirect(t, b.get(authorize.Path, e.authz(func(v url.Values) {
		v.Set("prompt", "none")
		v.Set("scope", "openid write:things")
	})), webCB, "consent_required", "st-123")
	// prompt=consent asks again; Deny is access_denied.
	r = b.get(authorize.Path, e.authz(func(v url.Values) { v.Set("prompt", "consent") }))
	e.wantRedirect(t, b.decide(r, "deny"), webCB, "access_denied", "st-123")
	// Unknown scopes are dropped, not refused.
	r = b.get(authorize.Path, e.authz(func(v url.Values) { v.Set("scope", "openid read:things admin:all") }))
	q = e.wantRedirect(t, r, webCB, "", "st-123")
	code, _ = e.store.RedeemAuthCode(ctx, authorize.CodeID(q.Get("code")), "", "", e.clock())
	if strings.Join(code.Scope, " ") != "openid read:things" {
		t.Errorf("scope %v, want openid read:things", code.Scope)
	}
}

// TestFirstPartySkipsConsent: a first-party client's users see no consent
// page; offline_access is kept for a client that may refresh.
func TestFirstPartySkipsConsent(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := b.get(authorize.Path, e.authz(func(v url.Values) {
		v.Set("client_id", e.spa.ClientID)
		v.Set("redirect_uri", spaCB)
		v.Set("scope", "openid offline_access")
	}))
	q := e.wantRedirect(t, b.logIn(r, "alice@example.com", password), spaCB, "", "st-123")
	code, err := e.store.RedeemAuthCode(t.Context(), authorize.CodeID(q.Get("code")), "", "", e.clock())
	if err != nil || strings.Join(code.Scope, " ") != "openid offline_access" {
		t.Errorf("code %+v, %v", code, err)
	}
	// An API that does not allow offline access drops offline_access.
	r = b.get(authorize.Path, e.authz(func(v url.Values) {
		v.Set("client_id", e.spa.ClientID)
		v.Set("redirect_uri", spaCB)
		v.Set("scope", "openid offline_access read:things")
		v.Set("audience", onlineAPI)
	}))
	q = e.wantRedirect(t, r, spaCB, "", "st-123")
	code, err = e.store.RedeemAuthCode(t.Context(), authorize.CodeID(q.Get("code")), "", "", e.clock())
	if err != nil || strings.Join(code.Scope, " ") != "openid read:things" {
		t.Errorf("code for an online-only API %+v, %v", code, err)
	}
}

// TestLoginThrottled: failed logins are throttled per user; a throttled
// login is refused before its password is looked at.
func TestLoginThrottled(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := b.get(authorize.Path, e.authz(nil))
	for i := range 3 {
		r = b.logIn(r, "alice@example.com", "wrong")
		if r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i, r.status)
		}
	}
	r = b.logIn(r, "alice@example.com", password)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed attempts") || r.header.Get("Retry-After") == "" {
		t.Fatalf("4th attempt with the right password: %d %v %s", r.status, r.header, r.body)
	}
	// Unknown users are throttled alike, so the throttle tells nothing.
	other := e.browser()
	ro := other.get(authorize.Path, e.authz(nil))
	for range 3 {
		ro = other.logIn(ro, "nobody@example.com", "wrong")
	}
	if ro = other.logIn(ro, "nobody@example.com", "wrong"); ro.status != http.StatusTooManyRequests {
		t.Errorf("unknown user not throttled: %d", ro.status)
	}
	e.advance(time.Minute)
	if r = b.logIn(r, "alice@example.com", password); r.status != http.StatusOK || !strings.Contains(r.body, ">Allow</button>") {
		t.Errorf("after the window: %d %s", r.status, r.body)
	}
}

// TestCSRF: the login and consent forms need the CSRF token bound to the
// browser's cookie and session under the server's key, and, when the
// browser says where the form came from, this origin.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	page := b.get(authorize.Path, e.authz(nil))
	f := form(page.body)
	f.Set("email", "alice@example.com")
	f.Set("password", password)

	attacker := e.browser() // no CSRF cookie
	if r := attacker.post(authorize.PathLogin, f); r.status != http.StatusForbidden {
		t.Errorf("login without the cookie: %d", r.status)
	}
	bad := url.Values{}
	for k, v := range f {
		bad[k] = v
	}
	bad.Set("csrf_token", strings.Repeat("A", 43))
	if r := b.post(authorize.PathLogin, bad); r.status != http.StatusForbidden {
		t.Errorf("login with a wrong token: %d", r.status)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+authorize.PathLogin, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example.com")
	if r := b.do(req); r.status != http.StatusForbidden {
		t.Errorf("login from another origin: %d", r.status)
	}
	// The browser says the form came from elsewhere: refused whatever the
	// token (Origin: null is a sandboxed frame or a privacy redirect).
	for _, hdr := range []map[string]string{
		{"Origin": "null"},
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
	} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+authorize.PathLogin, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		if r := b.do(req); r.status != http.StatusForbidden {
			t.Errorf("login with %v: %d, want 403", hdr, r.status)
		}
	}
	// A naive double submit: the attacker plants a cookie of its choosing
	// (a sibling host can, without __Host-) and sends the same value.
	forged := e.browser()
	u, _ := url.Parse(e.srv.URL)
	planted := strings.Repeat("A", 43)
	forged.jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_csrf", Value: planted, Path: "/"}})
	ff := url.Values{}
	for k, v := range f {
		ff[k] = v
	}
	ff.Set("csrf_token", planted)
	if r := forged.post(authorize.PathLogin, ff); r.status != http.StatusForbidden {
		t.Errorf("a forged double submit: %d, want 403", r.status)
	}
	// One browser's token in another browser (another session).
	other := e.browser()
	other.get(authorize.Path, e.authz(nil)) // its own CSRF cookie
	if r := other.post(authorize.PathLogin, f); r.status != http.StatusForbidden {
		t.Errorf("another browser's token: %d, want 403", r.status)
	}
	req, _ = http.NewRequest(http.MethodPost, e.srv.URL+authorize.PathLogin, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if r := b.do(req); r.status != http.StatusOK {
		t.Errorf("the genuine form (Sec-Fetch-Site: same-origin): %d %s", r.status, r.body)
	}
	// After the login the session is part of the binding: the login
	// page's token is worthless for the consent form.
	consent := b.get(authorize.Path, e.authz(nil))
	cf := form(consent.body)
	cf.Set("decision", "allow")
	stale := url.Values{}
	for k, v := range cf {
		stale[k] = v
	}
	stale.Set("csrf_token", f.Get("csrf_token"))
	if r := b.post(authorize.PathConsent, stale); r.status != http.StatusForbidden {
		t.Errorf("the consent form with the token from before the login: %d, want 403", r.status)
	}
	if r := b.post(authorize.PathConsent, cf); r.status != http.StatusFound {
		t.Errorf("the consent form with its own token: %d", r.status)
	}
	// The cookies are HttpOnly and SameSite=Lax (the jar hides attributes:
	// read the raw header).
	page = e.browser().get(authorize.Path, e.authz(nil))
	raw := strings.Join(page.header.Values("Set-Cookie"), "\n")
	if !strings.Contains(raw, "HttpOnly") || !strings.Contains(raw, "SameSite=Lax") {
		t.Errorf("cookies %q: want HttpOnly and SameSite=Lax", raw)
	}
}

// TestReauthentication: prompt=login and an exceeded max_age show the
// login page despite a session; a disabled user's session ends.
func TestReauthentication(t *testing.T) {
	e := newEnv(t)
	spa := func(mod func(url.Values)) url.Values {
		return e.authz(func(v url.Values) {
			v.Set("client_id", e.spa.ClientID)
			v.Set("redirect_uri", spaCB)
			if mod != nil {
				mod(v)
			}
		})
	}
	b := e.browser()
	e.wantRedirect(t, b.logIn(b.get(authorize.Path, spa(nil)), "alice@example.com", password), spaCB, "", "st-123")
	e.advance(10 * time.Minute)
	e.wantRedirect(t, b.get(authorize.Path, spa(nil)), spaCB, "", "st-123")
	for _, mod := range []func(url.Values){
		func(v url.Values) { v.Set("prompt", "login") },
		func(v url.Values) { v.Set("max_age", "60") },
	} {
		e.advance(10 * time.Minute)
		r := b.get(authorize.Path, spa(mod))
		if !strings.Contains(r.body, "<h1>Log in</h1>") {
			t.Fatalf("want the login page: %d %s", r.status, r.body)
		}
		// Logging in again satisfies it (prompt=login is not asked twice).
		q := e.wantRedirect(t, b.logIn(r, "alice@example.com", password), spaCB, "", "st-123")
		code, _ := e.store.RedeemAuthCode(t.Context(), authorize.CodeID(q.Get("code")), "", "", e.clock())
		if !code.AuthTime.Equal(e.clock()) {
			t.Errorf("auth_time %v, want the new login's %v", code.AuthTime, e.clock())
		}
	}
	e.wantRedirect(t, b.get(authorize.Path, spa(func(v url.Values) { v.Set("max_age", "60"); v.Set("prompt", "none") })), spaCB, "", "st-123")
	e.advance(2 * time.Minute)
	e.wantRedirect(t, b.get(authorize.Path, spa(func(v url.Values) { v.Set("max_age", "60"); v.Set("prompt", "none") })), spaCB, "login_required", "st-123")

	u := e.user
	u.Disabled = true
	if err := e.store.UpdateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	e.wantRedirect(t, b.get(authorize.Path, spa(func(v url.Values) { v.Set("prompt", "none") })), spaCB, "login_required", "st-123")
	// A blocked account's page confirms no password: the right one is
	// answered as a wrong one.
	right := b.logIn(b.get(authorize.Path, spa(nil)), "alice@example.com", password)
	wrong := b.logIn(b.get(authorize.Path, spa(nil)), "alice@example.com", "not it")
	if right.status != http.StatusUnauthorized || !strings.Contains(right.body, "Wrong email or password.") || strings.Contains(right.body, "disabled") ||
		wrong.status != right.status || stripCSRF(wrong.body) != stripCSRF(right.body) {
		t.Errorf("disabled user's login with the right password: %d %s\nwith a wrong one: %d", right.status, right.body, wrong.status)
	}
}

var csrfValueRE = regexp.MustCompile(`name="csrf_token" value="[^"]*"`)

// stripCSRF removes the page's CSRF token, the one part of two pages of
// one browser that may differ.
func stripCSRF(body string) string { return csrfValueRE.ReplaceAllString(body, "") }
