package console

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/webform"
)

// Path is where the console lives; its cookies are scoped to it.
const Path = "/console"

// PathCallback is the console's redirect URI, under the issuer.
const PathCallback = Path + "/callback"

// Authorizer checks a person's management API token for a scope
// (mgmt.Handler.AuthorizeToken).
type Authorizer interface {
	AuthorizeToken(ctx context.Context, token, scope string) (context.Context, mgmt.Principal, error)
}

var _ Authorizer = (*mgmt.Handler)(nil)

// Catalog is the in-memory view the list pages read, and that a write
// waits for (SyncNow) so that the next page shows it.
type Catalog interface {
	Snapshot() *catalog.Snapshot
	SyncNow(ctx context.Context) error
}

// KeyRotator rotates the signing keys and says how long a next key must
// have been published before a rotation lets it sign (package keys).
type KeyRotator interface {
	Rotate(ctx context.Context, opts keys.RotateOptions) ([]storage.SigningKey, error)
	CacheWait(ctx context.Context) (time.Duration, error)
}

var _ KeyRotator = (*keys.Manager)(nil)

// Config configures a Handler.
type Config struct {
	// Issuer is the server's issuer; the console is at Issuer + Path.
	Issuer string
	// ClientID is the console's login client; empty: the catalog's client
	// that EnsureClient made for Issuer, looked up until there is one.
	ClientID string
	// Admin performs every change; its Store answers the reads the
	// catalog does not hold.
	Admin *admin.Service
	// Auth checks the person's token for each page and action.
	Auth    Authorizer
	Catalog Catalog
	Keys    KeyRotator
	// Denylist, if set, learns at once of the token a sign-out revokes
	// (revocation.Denylist.Add); other instances learn of it through the
	// change feed.
	Denylist interface{ Add(storage.Revocation) }
	// Token is the token endpoint, which redeems the login's code in
	// process.
	Token http.Handler
	// Key (32 bytes or more) keys the CSRF tokens and seals the cookies;
	// the same on every instance.
	Key    []byte
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
}

// Handler serves /console/.
type Handler struct {
	cfg    Config
	base   string // the issuer without a trailing slash
	guard  webform.Guard
	aead   cipher.AEAD
	mux    *http.ServeMux
	routes []route
	client atomic.Pointer[string] // the console's login client, once known
}

// route is one page or action: the scope it needs ("": any signed-in
// person) and its function.
type route struct {
	method, pattern, scope string
	serve                  func(*call)
}

// New returns the console for cfg.
func New(cfg Config) (*Handler, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("console: issuer %q is not an absolute URL", cfg.Issuer)
	}
	if cfg.Admin == nil || cfg.Auth == nil || cfg.Catalog == nil || cfg.Keys == nil || cfg.Token == nil {
		return nil, errors.New("console: Admin, Auth, Catalog, Keys and Token are required")
	}
	if len(cfg.Key) < 32 {
		return nil, errors.New("console: the key must have at least 32 bytes")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	block, err := aes.NewCipher(derive(cfg.Key, "gatehouse console cookie key v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, base: strings.TrimRight(cfg.Issuer, "/"), aead: aead, mux: http.NewServeMux(),
		guard: webform.Guard{Key: derive(cfg.Key, "gatehouse console CSRF key v1"), Origin: webform.OriginOf(u)}}
	if cfg.ClientID != "" {
		h.client.Store(&cfg.ClientID)
	}
	h.routes = h.pages()
	for _, rt := range h.routes {
		h.mux.Handle(rt.method+" "+rt.pattern, h.wrap(rt))
	}
	// The pages that need no session; every POST is a route above, which
	// checks the form's CSRF token (TestEveryPostNeedsCSRF).
	h.mux.HandleFunc("GET "+PathCallback, h.callback)
	h.mux.HandleFunc("GET "+Path+"/static/console.css", serveCSS)
	h.mux.HandleFunc("GET "+Path+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Path+"/applications", http.StatusSeeOther)
	})
	h.mux.HandleFunc("GET "+Path, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Path+"/applications", http.StatusSeeOther)
	})
	return h, nil
}

// clientID returns the console's login client: Config.ClientID, or the
// client of the catalog marked as the console's with this issuer's
// redirect URI (EnsureClient), or "" while there is none.
func (h *Handler) clientID() string {
	if id := h.client.Load(); id != nil {
		return *id
	}
	var found string
	redirect := RedirectURI(h.cfg.Issuer)
	h.cfg.Catalog.Snapshot().EachClient(func(c *catalog.Client) bool {
		if c.Metadata[MetadataKey] != "" && slices.Contains(c.RedirectURIs, redirect) {
			found = c.ClientID
			return false
		}
		return true
	})
	if found != "" {
		h.client.Store(&found)
	}
	return found
}

// derive is a key for one purpose: an HMAC of the label under key.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// ServeHTTP serves the console; an unknown page is a 404 page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.message(w, http.StatusNotFound, "Not found", "There is no console page at this address.", nil)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Routes returns every page and action as "METHOD PATTERN SCOPE" (no
// SCOPE: any signed-in person, as for the sign-out), for the tests that
// hold each to its permission and its CSRF check.
func Routes() []string {
	var out []string
	for _, rt := range (&Handler{}).pages() {
		out = append(out, strings.TrimSpace(rt.method+" "+rt.pattern+" "+rt.scope))
	}
	return out
}

// Cookies: HttpOnly, SameSite=Lax, scoped to /console, and Secure with the
// __Secure- prefix under TLS or an https issuer (the __Host- prefix would
// need Path=/).
const (
	cookieSession = "gatehouse_console"
	cookieCSRF    = "gatehouse_console_csrf"
	cookieLogin   = "gatehouse_console_login"
	cookieFlash   = "gatehouse_console_flash"
)

// Lifetimes of the cookies that are not the session's.
const (
	loginLifetime = 10 * time.Minute
	flashLifetime = 2 * time.Minute
	csrfLifetime  = 24 * time.Hour
	// MaxSession bounds a console session whatever its token's lifetime.
	MaxSession = 12 * time.Hour
)

func (h *Handler) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(h.cfg.Issuer, "https://")
}

func (h *Handler) cookieName(r *http.Request, name string) string {
	if h.secure(r) {
		return "__Secure-" + name
	}
	return name
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(r, name), Value: value, Path: Path, MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(r, name), Value: "", Path: Path, MaxAge: -1,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
}

func (h *Handler) cookie(r *http.Request, name string) string {
	if c, err := r.Cookie(h.cookieName(r, name)); err == nil {
		return c.Value
	}
	return ""
}

// seal encrypts v as JSON for the cookie name (the name is the associated
// data, so that one cookie's value is worthless as another's).
func (h *Handler) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, h.aead.NonceSize())
	if _, err := io.ReadFull(h.cfg.Rand, nonce); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(h.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

// open decrypts a sealed cookie value into v; false if it is not one.
func (h *Handler) open(name, value string, v any) bool {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < h.aead.NonceSize() {
		return false
	}
	plain, err := h.aead.Open(nil, raw[:h.aead.NonceSize()], raw[h.aead.NonceSize():], []byte(name))
	return err == nil && json.Unmarshal(plain, v) == nil
}

func (h *Handler) random() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(h.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// session is what the session cookie holds: the person's management API
// token and when the session ends.
type session struct {
	Token   string `json:"t"`
	Expires int64  `json:"e"`
}

// loginState is what the login cookie holds while the browser is at
// /authorize: the state, the PKCE verifier and the console page to return
// to (a path under /console, never a URL).
type loginState struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Return   string `json:"r"`
}

// flash is a message for the next page, and a new secret shown once.
type flash struct {
	Message string `json:"m,omitempty"`
	Client  string `json:"c,omitempty"`
	Secret  string `json:"s,omitempty"`
}

// call is one request to a page or action, authorized.
type call struct {
	h       *Handler
	w       http.ResponseWriter
	r       *http.Request
	ctx     context.Context // names the person as the audit actor
	token   string
	who     mgmt.Principal
	csrf    string
	form    url.Values
	flash   flash
	checked map[string]bool
}

// can reports whether the person may do what scope allows now, through the
// management API's authorization (for sections and buttons of a page).
func (c *call) can(scope string) bool {
	if ok, seen := c.checked[scope]; seen {
		return ok
	}
	_, _, err := c.h.cfg.Auth.AuthorizeToken(c.r.Context(), c.token, scope)
	c.checked[scope] = err == nil
	return err == nil
}

// wrap authorizes a request for rt: a live session (else, for a GET, to
// the login; for a POST, a page that says so), for a POST a valid CSRF
// token, and the route's scope through the management API's check.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s session
		if !h.open(cookieSession, h.cookie(r, cookieSession), &s) || h.cfg.Now().Unix() >= s.Expires {
			if r.Method == http.MethodGet {
				h.startLogin(w, r)
				return
			}
			if rt.scope == "" { // a sign-out: there is nothing to end
				h.clearCookie(w, r, cookieSession)
				h.message(w, http.StatusOK, "Signed out", "You are signed out of the console.", signInLink)
				return
			}
			h.message(w, http.StatusUnauthorized, "Signed out", "Your console session has ended; nothing was changed. Sign in again and repeat the action.", signInLink)
			return
		}
		c := &call{h: h, w: w, r: r, token: s.Token, checked: map[string]bool{}}
		var err error
		if c.csrf, err = h.csrfToken(w, r); err != nil {
			h.fail(w, r, err)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				h.message(w, http.StatusBadRequest, "Bad request", "The form could not be read.", nil)
				return
			}
			c.form = r.PostForm
			if !h.guard.Check(r, h.cookie(r, cookieCSRF), h.cookie(r, cookieSession), c.form.Get("csrf_token")) {
				h.message(w, http.StatusForbidden, "Form refused", "This form expired or was not sent from the console; nothing was changed. Reload the page and try again.", nil)
				return
			}
		}
		c.ctx = r.Context()
		if rt.scope != "" {
			ctx, who, aerr := h.cfg.Auth.AuthorizeToken(r.Context(), s.Token, rt.scope)
			if aerr != nil {
				h.refused(w, r, c.csrf, aerr)
				return
			}
			c.ctx, c.who = ctx, who
			c.checked[rt.scope] = true
		}
		if r.Method == http.MethodGet {
			if v := h.cookie(r, cookieFlash); v != "" {
				h.clearCookie(w, r, cookieFlash) // shown once
				_ = h.open(cookieFlash, v, &c.flash)
			}
		}
		rt.serve(c)
	})
}

// refused answers a refusal of the management API's check: 403 for a
// permission the person does not hold, else (the token expired, the
// person blocked or deleted) a 401 that ends the session.
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, csrf string, err error) {
	var me *mgmt.Error
	if errors.As(err, &me) && me.Status == http.StatusForbidden {
		scope := strings.TrimPrefix(strings.TrimPrefix(me.Message, "Insufficient permissions, expected: "), "Insufficient scope, expected: ")
		h.render(w, http.StatusForbidden, "message", view{Title: "Not allowed", CSRF: csrf,
			Message: "You do not have the permission this needs (" + scope + "). Nothing was changed. Ask an administrator for it."})
		return
	}
	if errors.As(err, &me) && me.Status == http.StatusUnauthorized {
		h.clearCookie(w, r, cookieSession)
		h.message(w, http.StatusUnauthorized, "Signed out", "Your console session is no longer valid ("+me.Message+"). Nothing was changed.", signInLink)
		return
	}
	h.fail(w, r, err)
}

// signInLink is the link the signed-out pages offer.
var signInLink = &link{Href: Path + "/applications", Text: "Sign in again"}

// fail answers an unexpected error: its cause is logged, not shown.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.cfg.Logger.Error("console request failed", "path", r.URL.Path, "err", err)
	h.message(w, http.StatusInternalServerError, "Something went wrong", "The request failed; the server's log says why. Try again.", nil)
}

// csrfToken returns the CSRF token of this browser's forms, setting its
// CSRF cookie when it has none (webform.Guard: bound to the session).
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) (string, error) {
	v := h.cookie(r, cookieCSRF)
	if len(v) != webform.BrowserValueLen {
		var err error
		if v, err = h.random(); err != nil {
			return "", err
		}
		h.setCookie(w, r, cookieCSRF, v, csrfLifetime)
	}
	return h.guard.Token(v, h.cookie(r, cookieSession)), nil
}

// done finishes an action: the catalog is brought up to the change (the
// next page shows it), the message goes to the next page, and the browser
// is sent to the page at to (a path of the console: POST, redirect, GET).
func (c *call) done(to string, f flash) {
	if err := c.h.cfg.Catalog.SyncNow(c.ctx); err != nil {
		c.h.cfg.Logger.Warn("the catalog could not be brought up to a console write; it follows within the sync interval", "err", err)
	}
	if f != (flash{}) {
		if v, err := c.h.seal(cookieFlash, f); err == nil {
			c.h.setCookie(c.w, c.r, cookieFlash, v, flashLifetime)
		}
	}
	http.Redirect(c.w, c.r, to, http.StatusSeeOther)
}

// localPath returns p if it is a path of the console (an open redirect
// after login is refused: never another site, never a scheme-relative
// //host), else the console's start page.
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") ||
		!(u.Path == Path || strings.HasPrefix(u.Path, Path+"/")) || strings.Contains(u.Path, "/../") || u.Path == PathCallback {
		return Path + "/applications"
	}
	return u.RequestURI()
}

// startLogin sends the browser to the hosted login (Authorization Code
// with PKCE, RFC 7636), remembering where it was going.
func (h *Handler) startLogin(w http.ResponseWriter, r *http.Request) {
	client := h.clientID()
	if client == "" {
		h.message(w, http.StatusServiceUnavailable, "The console is not set up",
			"The console has no login client yet. Run `gatehouse console admin --email YOU --issuer "+h.cfg.Issuer+"` (which also makes you its administrator) or `gatehouse console ensure`, then reload this page.", nil)
		return
	}
	state, err := h.random()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	verifier, err := h.random()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.seal(cookieLogin, loginState{State: state, Verifier: verifier, Return: localPath(r.URL.RequestURI())})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.setCookie(w, r, cookieLogin, v, loginLifetime)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {client},
		"redirect_uri":          {h.base + PathCallback},
		"scope":                 {"openid " + strings.Join(mgmt.ScopeValues(), " ")},
		"audience":              {mgmt.Audience(h.cfg.Issuer)},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	http.Redirect(w, r, h.base+"/authorize?"+q.Encode(), http.StatusSeeOther)
}

// callback is the console's redirect URI: it checks the state against the
// login cookie, redeems the code in process with the PKCE verifier, and
// starts the session. It never takes a destination from the request.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	var ls loginState
	raw := h.cookie(r, cookieLogin)
	h.clearCookie(w, r, cookieLogin)
	q := r.URL.Query()
	if !h.open(cookieLogin, raw, &ls) || !hmac.Equal([]byte(ls.State), []byte(q.Get("state"))) {
		h.message(w, http.StatusBadRequest, "Sign-in refused", "This sign-in was not started by this browser or took too long.", signInLink)
		return
	}
	if e := q.Get("error"); e != "" {
		status := http.StatusBadRequest
		if e == "access_denied" {
			status = http.StatusForbidden
		}
		h.message(w, status, "Sign-in refused", "The login answered "+e+": "+q.Get("error_description"), signInLink)
		return
	}
	tok, expiresIn, err := h.redeem(r, q.Get("code"), ls.Verifier)
	if err != nil {
		h.cfg.Logger.Info("console sign-in failed", "err", err)
		h.message(w, http.StatusForbidden, "Sign-in refused", "The login could not be completed; sign in again.", signInLink)
		return
	}
	life := min(time.Duration(expiresIn)*time.Second, MaxSession)
	v, err := h.seal(cookieSession, session{Token: tok, Expires: h.cfg.Now().Add(life).Unix()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.setCookie(w, r, cookieSession, v, life)
	http.Redirect(w, r, localPath(ls.Return), http.StatusSeeOther)
}

// redeem exchanges the code at the token endpoint, in process (RFC 6749
// §4.1.3 with RFC 7636's code_verifier), for the access token.
func (h *Handler) redeem(r *http.Request, code, verifier string) (string, int64, error) {
	if code == "" {
		return "", 0, errors.New("no code")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {h.base + PathCallback},
		"client_id": {h.clientID()}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, h.base+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = r.RemoteAddr
	rec := &recorder{header: http.Header{}}
	h.cfg.Token.ServeHTTP(rec, req)
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(rec.body.Bytes(), &body); err != nil {
		return "", 0, fmt.Errorf("token endpoint answered %d: %w", rec.status, err)
	}
	if rec.status != http.StatusOK || body.AccessToken == "" {
		return "", 0, fmt.Errorf("token endpoint answered %d %s: %s", rec.status, body.Error, body.Description)
	}
	return body.AccessToken, body.ExpiresIn, nil
}

// logout ends the console session: its token is revoked (its jti on the
// denylist until it expires, which the management API's check honours on
// every instance), so that a copy of the cookie is worth nothing after it,
// and the cookie is deleted. The login session at /authorize is the hosted
// login's to end (/oidc/logout).
func (h *Handler) logout(c *call) {
	if jti, exp, ok := tokenID(c.token); ok && h.cfg.Now().Before(exp) {
		rev := storage.Revocation{Kind: storage.RevokeToken, Value: jti, Before: h.cfg.Now(), ExpiresAt: exp}
		if err := h.cfg.Admin.Store.Revoke(c.ctx, rev); err != nil {
			h.fail(c.w, c.r, fmt.Errorf("revoke the session's token: %w", err))
			return
		}
		if h.cfg.Denylist != nil {
			h.cfg.Denylist.Add(rev)
		}
	}
	h.clearCookie(c.w, c.r, cookieSession)
	h.message(c.w, http.StatusOK, "Signed out", "You are signed out of the console. To end your login everywhere, log out at "+h.base+"/oidc/logout.", signInLink)
}

// tokenID returns the jti and the expiry of the session's access token (a
// JWT from this server's token endpoint, read from the sealed cookie).
func tokenID(tok string) (string, time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", time.Time{}, false
	}
	var c struct {
		JTI string `json:"jti"`
		Exp int64  `json:"exp"`
	}
	if json.Unmarshal(raw, &c) != nil || c.JTI == "" {
		return "", time.Time{}, false
	}
	return c.JTI, time.Unix(c.Exp, 0), true
}
