package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

const (
	loginAPI   = "https://api.test"
	onlineAPI  = "https://online.test" // no offline access
	webCB      = "http://127.0.0.1:1/callback"
	spaCB      = "http://127.0.0.1:2/spa"
	spaOrigin  = "https://spa.example"
	logoutURL  = "http://127.0.0.1:1/bye"
	alicePW    = "correct horse battery"
	aliceEmail = "alice@example.com"
)

// loginFixture is a real server on SQLite behind httptest with a clock the
// test moves, a confidential third-party web client, a public first-party
// SPA, an API and a user.
type loginFixture struct {
	t         *testing.T
	ctx       context.Context
	http      *httptest.Server
	store     *sqlite.Store
	admin     *admin.Service
	issuer    string
	web       storage.Client
	webSecret string
	spa       storage.Client
	user      storage.User

	mu  sync.Mutex
	now time.Time
}

func (f *loginFixture) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *loginFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func newLoginFixture(t *testing.T, mutate ...func(*config.Config)) *loginFixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dbPath := filepath.Join(t.TempDir(), "g.db")
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DB = "sqlite:" + dbPath
	cfg.Issuer = "http://" + ts.Listener.Addr().String() + "/"
	for _, m := range mutate {
		m(&cfg)
	}
	f := &loginFixture{t: t, ctx: ctx, store: store, issuer: cfg.Issuer, now: time.Now().Truncate(time.Second)}
	f.admin = &admin.Service{Store: store, Passwords: testutil.CheapHasher(), Now: f.clock}
	if _, err := f.admin.CreateAPI(ctx, admin.APIInput{Identifier: loginAPI, AllowOfflineAccess: true,
		Scopes: []storage.Scope{{Value: "read", Description: "Read things"}, {Value: "write"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.CreateAPI(ctx, admin.APIInput{Identifier: onlineAPI, Scopes: []storage.Scope{{Value: "read"}}}); err != nil {
		t.Fatal(err)
	}
	var sec admin.NewSecret
	if f.web, sec, err = f.admin.CreateLoginClient(ctx, admin.LoginClientInput{Name: "Web", AppType: "regular_web",
		RedirectURIs: []string{webCB}, LogoutURLs: []string{logoutURL}}); err != nil {
		t.Fatal(err)
	}
	f.webSecret = sec.Plain
	if f.spa, _, err = f.admin.CreateLoginClient(ctx, admin.LoginClientInput{Name: "SPA", AppType: "spa", RedirectURIs: []string{spaCB}, FirstParty: true,
		WebOrigins: []string{spaOrigin}}); err != nil {
		t.Fatal(err)
	}
	// Both login clients may obtain people's tokens for both APIs (the
	// APIs' user policy is require_client_grant).
	for _, c := range []string{f.web.ClientID, f.spa.ClientID} {
		for api, scopes := range map[string][]string{loginAPI: {"read", "write"}, onlineAPI: {"read"}} {
			if _, err := f.admin.CreateGrantFor(ctx, storage.SubjectUser, c, api, scopes); err != nil {
				t.Fatal(err)
			}
		}
	}
	if f.user, err = f.admin.CreateUser(ctx, admin.UserInput{Email: aliceEmail, Name: "Alice", Password: alicePW, EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	mk := make([]byte, 32)
	srv, err := server.New(ctx, cfg, store, mk, server.Options{Now: f.clock, GenerateKey: testutil.KeyGenerator()})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	f.http = ts
	wait := srv.Start(ctx)
	t.Cleanup(func() {
		ts.Close()
		cancel()
		wait()
		store.Close()
	})
	return f
}

// browser keeps cookies, follows redirects within the issuer and stops at
// the client's redirect URI.
type browser struct {
	f *loginFixture
	c *http.Client
	// from, when set, is sent as X-Forwarded-For (the fixture must trust
	// the loopback proxy): the browser's address.
	from string
}

func (f *loginFixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	host := f.http.Listener.Addr().String()
	return &browser{f: f, c: &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host != host {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

type page struct {
	status int
	body   string
	to     *url.URL // where the browser was sent off the issuer
}

func (b *browser) do(req *http.Request) page {
	b.f.t.Helper()
	if b.from != "" {
		req.Header.Set("X-Forwarded-For", b.from)
	}
	r, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	p := page{status: r.StatusCode, body: string(body)}
	if r.StatusCode/100 == 3 {
		p.to, _ = url.Parse(r.Header.Get("Location"))
	}
	return p
}

func (b *browser) get(u string) page {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// submit posts the page's form with the hidden fields and extra.
func (b *browser) submit(p page, path string, extra ...string) page {
	b.f.t.Helper()
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(p.body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	if v.Get("csrf_token") == "" {
		b.f.t.Fatalf("no form on the page (%d): %.400s", p.status, p.body)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	req, _ := http.NewRequest(http.MethodPost, strings.TrimRight(b.f.issuer, "/")+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// login answers the login page and, when asked, the consent page, and
// returns the redirect to the client.
func (b *browser) login(authURL string) *url.URL {
	b.f.t.Helper()
	p := b.get(authURL)
	if p.to == nil {
		if !strings.Contains(p.body, `<label for="email">Email</label>`) {
			b.f.t.Fatalf("want the login page: %d %.400s", p.status, p.body)
		}
		p = b.submit(p, "/authorize/login", "email", aliceEmail, "password", alicePW)
	}
	if p.to == nil && strings.Contains(p.body, ">Allow</button>") {
		p = b.submit(p, "/authorize/consent", "decision", "allow")
	}
	if p.to == nil {
		b.f.t.Fatalf("not redirected to the client: %d %.400s", p.status, p.body)
	}
	return p.to
}

// claims decodes a JWT's payload without checking it.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLoginFlow drives the whole flow with clients nobody here wrote:
// golang.org/x/oauth2 (PKCE S256) and coreos/go-oidc (discovery, ID token
// checks, userinfo): code, tokens, ID token, userinfo, refresh, logout.
func TestLoginFlow(t *testing.T) {
	f := newLoginFixture(t)
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, f.issuer) // checks the document's issuer
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Authorization string   `json:"authorization_endpoint"`
		EndSession    string   `json:"end_session_endpoint"`
		PKCE          []string `json:"code_challenge_methods_supported"`
		ISS           bool     `json:"authorization_response_iss_parameter_supported"`
		Responses     []string `json:"response_types_supported"`
		Scopes        []string `json:"scopes_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	base := strings.TrimRight(f.issuer, "/")
	if meta.Authorization != base+"/authorize" || meta.EndSession != base+"/oidc/logout" || strings.Join(meta.PKCE, ",") != "S256" ||
		!meta.ISS || strings.Join(meta.Responses, ",") != "code" || meta.Scopes[0] != "openid" {
		t.Errorf("discovery %+v", meta)
	}
	conf := oauth2.Config{ClientID: f.web.ClientID, ClientSecret: f.webSecret, Endpoint: provider.Endpoint(), RedirectURL: webCB,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess, "read"}}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-1"),
		oauth2.SetAuthURLParam("audience", loginAPI))
	b := f.browser()
	back := b.login(authURL)
	q := back.Query()
	if q.Get("state") != "state-1" || q.Get("iss") != f.issuer || q.Get("code") == "" {
		t.Fatalf("redirect %s: want code, state and iss", back)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token %+v: want a refresh token", tok)
	}
	at := claims(t, tok.AccessToken)
	aud, _ := at["aud"].([]any)
	if at["sub"] != f.user.UserID || len(aud) != 2 || aud[0] != loginAPI || aud[1] != base+"/userinfo" ||
		at["scope"] != "openid profile email offline_access read" || at["client_id"] != f.web.ClientID {
		t.Errorf("access token claims %v", at)
	}

	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: f.web.ClientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc refuses the ID token: %v", err)
	}
	if idt.Nonce != "nonce-1" || idt.Subject != f.user.UserID {
		t.Errorf("ID token nonce %q sub %q", idt.Nonce, idt.Subject)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var idc struct {
		Name          string `json:"name"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		AZP           string `json:"azp"`
		AuthTime      int64  `json:"auth_time"`
	}
	if err := idt.Claims(&idc); err != nil || idc.Name != "Alice" || idc.Email != aliceEmail || !idc.EmailVerified ||
		idc.AZP != f.web.ClientID || idc.AuthTime != f.clock().Unix() {
		t.Errorf("ID token claims %+v, %v", idc, err)
	}

	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Subject != f.user.UserID || ui.Email != aliceEmail || !ui.EmailVerified {
		t.Errorf("userinfo %+v", ui)
	}

	// Refresh: a new access token and a new refresh token; the old one is
	// then spent.
	f.advance(time.Minute)
	tok.Expiry = time.Now().Add(-time.Hour) // make x/oauth2 refresh
	fresh, err := conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh did not rotate: %+v", fresh)
	}
	if raw2, _ := fresh.Extra("id_token").(string); raw2 == "" {
		t.Error("the refresh gave no ID token for openid")
	}

	// Logout with the ID token as hint goes back to the allowed URL with
	// the state, and the session is gone.
	lo := b.get(base + "/oidc/logout?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {logoutURL}, "state": {"bye-1"}}.Encode())
	if lo.to == nil || lo.to.String() != logoutURL+"?state=bye-1" {
		t.Fatalf("logout: %d %s %.300s", lo.status, lo.to, lo.body)
	}
	after := b.get(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none")))
	if after.to == nil || after.to.Query().Get("error") != "login_required" {
		t.Errorf("after logout, prompt=none: %v %.200s", after.to, after.body)
	}

	// The user tokens went through the endpoint's shared issue step like
	// every grant's: the code exchange and the refresh are token.issued
	// events of the client, for the API, with the consented scope.
	var issued []storage.AuditEvent
	for deadline := time.Now().Add(5 * time.Second); len(issued) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		events, err := f.store.ListAudit(ctx, storage.AuditFilter{ClientID: f.web.ClientID})
		if err != nil {
			t.Fatal(err)
		}
		issued = slices.DeleteFunc(events, func(e storage.AuditEvent) bool { return e.Action != storage.AuditTokenIssued })
	}
	if len(issued) != 2 {
		t.Fatalf("%d token.issued events for the user tokens, want 2 (code exchange, refresh)", len(issued))
	}
	for _, e := range issued {
		if e.Target != loginAPI || e.Details["audience"] != loginAPI || e.Details["scope"] != "openid profile email offline_access read" || e.Details["jti"] == "" {
			t.Errorf("token.issued = %+v", e)
		}
	}
}
