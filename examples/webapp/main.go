// Command webapp is a small web application that logs its users in through
// gatehouse with the Authorization Code flow and PKCE (golang.org/x/oauth2),
// checks the ID token with coreos/go-oidc, and calls examples/api with the
// user's access token, refreshing it with the refresh token.
//
//	WEBAPP_CLIENT_SECRET=... go run ./examples/webapp --issuer URL --client-id ID \
//	    --audience URI --scope read:sensors --api http://127.0.0.1:9090 [--addr 127.0.0.1:8081]
//
// Register it first (its redirect URI and logout URL are on --addr):
//
//	gatehouse client create --name webapp --app-type regular_web \
//	    --redirect-uri http://127.0.0.1:8081/callback --logout-url http://127.0.0.1:8081/
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; ready, if set, receives the listen address.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "http://127.0.0.1:8080", "gatehouse's issuer")
	clientID := fs.String("client-id", "", "this app's client_id (a regular_web client)")
	audience := fs.String("audience", "", "the API to get the user's token for")
	api := fs.String("api", "http://127.0.0.1:9090", "base URL of examples/api")
	addr := fs.String("addr", "127.0.0.1:8081", "listen address; the redirect URI is http://ADDR/callback")
	scope := fs.String("scope", "", "the API's scopes to ask for, space-separated (openid profile email offline_access always)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret := getenv("WEBAPP_CLIENT_SECRET")
	if *clientID == "" || secret == "" {
		return errors.New("--client-id and WEBAPP_CLIENT_SECRET are required")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	app, err := newApp(ctx, *issuer, *clientID, secret, *audience, *api, base, strings.Fields(*scope)...)
	if err != nil {
		_ = ln.Close()
		return err
	}
	slog.New(slog.NewTextHandler(stderr, nil)).Info("webapp listening", "url", base, "issuer", *issuer)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// app is the web application: its sessions live in memory.
type app struct {
	issuer   string
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	conf     oauth2.Config
	audience string
	api      string
	base     string
	logout   string // the end_session_endpoint
	mux      *http.ServeMux

	mu       sync.Mutex
	pending  map[string]pending  // by state
	sessions map[string]*session // by cookie
}

type pending struct {
	nonce, verifier string
	expires         time.Time
}

type session struct {
	idToken string
	claims  struct {
		Sub   string `json:"sub"`
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	tokens    oauth2.TokenSource
	refreshed int
	last      *oauth2.Token
}

func newApp(ctx context.Context, issuer, clientID, secret, audience, api, base string, scopes ...string) (*app, error) {
	provider, err := oidc.NewProvider(ctx, issuer) // discovery; the document's issuer must match
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, err
	}
	a := &app{
		issuer: issuer, provider: provider, verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
		conf: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: base + "/callback",
			Scopes: append([]string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}, scopes...)},
		audience: audience, api: strings.TrimRight(api, "/"), base: base, logout: meta.EndSession,
		pending: map[string]pending{}, sessions: map[string]*session{},
	}
	a.mux = http.NewServeMux()
	a.mux.HandleFunc("GET /{$}", a.home)
	a.mux.HandleFunc("GET /login", a.login)
	a.mux.HandleFunc("GET /callback", a.callback)
	a.mux.HandleFunc("GET /api", a.callAPI)
	a.mux.HandleFunc("GET /refresh", a.refresh)
	a.mux.HandleFunc("GET /userinfo", a.userinfo)
	a.mux.HandleFunc("GET /logout", a.logoutHandler)
	return a, nil
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	a.mux.ServeHTTP(w, r)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example web app</title></head>
<body><main>
<h1>Example web app</h1>
{{if .User}}<p id="user">Logged in as {{.User}} ({{.Email}})</p>
<nav><a href="/api">Call the API</a> · <a href="/userinfo">User info</a> · <a href="/refresh">Refresh the token</a> · <a href="/logout">Log out</a></nav>
{{else}}<p><a href="/login">Log in</a></p>{{end}}
{{if .Message}}<p id="message" role="status">{{.Message}}</p>{{end}}
{{if .Result}}<pre id="result">{{.Result}}</pre>{{end}}
</main></body></html>
`))

type view struct{ User, Email, Message, Result string }

func (a *app) render(w http.ResponseWriter, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = page.Execute(w, v)
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (a *app) current(r *http.Request) *session {
	c, err := r.Cookie("webapp_session")
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	v := view{Message: r.URL.Query().Get("m")}
	if r.URL.Query().Get("state") == "logged-out" { // back from gatehouse's logout
		v.Message = "Logged out."
	}
	if s := a.current(r); s != nil {
		v.User, v.Email = s.claims.Name, s.claims.Email
	}
	a.render(w, http.StatusOK, v)
}

// login starts the Authorization Code flow with PKCE S256, a state bound to
// the browser by a cookie, and a nonce.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	a.mu.Lock()
	a.pending[state] = pending{nonce: nonce, verifier: verifier, expires: time.Now().Add(10 * time.Minute)}
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "webapp_state", Value: state, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)}
	if a.audience != "" {
		opts = append(opts, oauth2.SetAuthURLParam("audience", a.audience))
	}
	http.Redirect(w, r, a.conf.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback checks iss (RFC 9207) and state, redeems the code with the PKCE
// verifier, and checks the ID token: signature, iss, aud, exp, nonce and
// at_hash.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("iss") != a.issuer {
		a.render(w, http.StatusBadRequest, view{Message: "The response is not from our authorization server (iss)."})
		return
	}
	c, err := r.Cookie("webapp_state")
	state := q.Get("state")
	a.mu.Lock()
	p, ok := a.pending[state]
	delete(a.pending, state)
	a.mu.Unlock()
	if err != nil || c.Value != state || !ok || time.Now().After(p.expires) {
		a.render(w, http.StatusBadRequest, view{Message: "The login was not started here, or took too long."})
		return
	}
	if e := q.Get("error"); e != "" {
		a.render(w, http.StatusOK, view{Message: "Login failed: " + e + ": " + q.Get("error_description")})
		return
	}
	tok, err := a.conf.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		a.render(w, http.StatusBadGateway, view{Message: "The code could not be redeemed: " + err.Error()})
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(r.Context(), raw)
	if err == nil && idt.Nonce != p.nonce {
		err = errors.New("the nonce does not match")
	}
	if err == nil {
		err = idt.VerifyAccessToken(tok.AccessToken)
	}
	if err != nil {
		a.render(w, http.StatusBadGateway, view{Message: "The ID token is not valid: " + err.Error()})
		return
	}
	s := &session{idToken: raw, last: tok}
	if err := idt.Claims(&s.claims); err != nil {
		a.render(w, http.StatusBadGateway, view{Message: "The ID token's claims: " + err.Error()})
		return
	}
	s.tokens = a.conf.TokenSource(context.WithoutCancel(r.Context()), tok)
	id := random()
	a.mu.Lock()
	a.sessions[id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "webapp_session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/?m="+url.QueryEscape("Logged in."), http.StatusFound)
}

// callAPI calls examples/api's /v1/ping with the user's access token.
func (a *app) callAPI(w http.ResponseWriter, r *http.Request) {
	s := a.current(r)
	if s == nil {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	tok, err := s.tokens.Token()
	if err != nil {
		a.render(w, http.StatusBadGateway, view{User: s.claims.Name, Email: s.claims.Email, Message: "No access token: " + err.Error()})
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, a.api+"/v1/ping", nil)
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.render(w, http.StatusBadGateway, view{User: s.claims.Name, Email: s.claims.Email, Message: "The API is unreachable: " + err.Error()})
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	a.render(w, http.StatusOK, view{User: s.claims.Name, Email: s.claims.Email, Message: "API answered " + resp.Status, Result: string(body)})
}

// refresh trades the refresh token for new tokens (it rotates).
func (a *app) refresh(w http.ResponseWriter, r *http.Request) {
	s := a.current(r)
	if s == nil {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	old := *s.last
	old.Expiry = time.Now().Add(-time.Minute) // make x/oauth2 refresh now
	tok, err := a.conf.TokenSource(r.Context(), &old).Token()
	if err != nil {
		a.render(w, http.StatusBadGateway, view{User: s.claims.Name, Email: s.claims.Email, Message: "Refresh failed: " + err.Error()})
		return
	}
	a.mu.Lock()
	s.last, s.tokens, s.refreshed = tok, a.conf.TokenSource(context.WithoutCancel(r.Context()), tok), s.refreshed+1
	a.mu.Unlock()
	rotated := tok.RefreshToken != "" && tok.RefreshToken != old.RefreshToken
	a.render(w, http.StatusOK, view{User: s.claims.Name, Email: s.claims.Email,
		Message: fmt.Sprintf("Refreshed (%d): a new access token, refresh token rotated: %v", s.refreshed, rotated)})
}

// userinfo calls the UserInfo endpoint with the access token.
func (a *app) userinfo(w http.ResponseWriter, r *http.Request) {
	s := a.current(r)
	if s == nil {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	ui, err := a.provider.UserInfo(r.Context(), s.tokens)
	if err != nil {
		a.render(w, http.StatusBadGateway, view{User: s.claims.Name, Email: s.claims.Email, Message: "UserInfo failed: " + err.Error()})
		return
	}
	var claims map[string]any
	_ = ui.Claims(&claims)
	out, _ := json.MarshalIndent(claims, "", "  ")
	a.render(w, http.StatusOK, view{User: s.claims.Name, Email: s.claims.Email, Message: "UserInfo", Result: string(out)})
}

// logoutHandler ends the local session and sends the browser to gatehouse's
// end_session_endpoint (RP-Initiated Logout) with the ID token as hint.
func (a *app) logoutHandler(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("webapp_session")
	var hint string
	if err == nil {
		a.mu.Lock()
		if s := a.sessions[c.Value]; s != nil {
			hint = s.idToken
		}
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: "webapp_session", Value: "", Path: "/", MaxAge: -1})
	q := url.Values{"post_logout_redirect_uri": {a.base + "/"}, "client_id": {a.conf.ClientID}, "state": {"logged-out"}}
	if hint != "" {
		q.Set("id_token_hint", hint)
	}
	http.Redirect(w, r, a.logout+"?"+q.Encode(), http.StatusFound)
}
