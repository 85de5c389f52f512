package authorize

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/users"
	"github.com/gatehouse-dev/gatehouse/internal/webform"
)

// Paths of the authorization endpoint and its pages.
const (
	Path        = "/authorize"
	PathLogin   = "/authorize/login"
	PathConsent = "/authorize/consent"
)

// Defaults of Config.
const (
	// DefaultCodeLifetime: RFC 6749 §4.1.2 asks for short-lived codes, at
	// most ten minutes; a browser redirect takes a second.
	DefaultCodeLifetime    = time.Minute
	DefaultSessionLifetime = 24 * time.Hour
	maxFormBytes           = 64 << 10
)

// DefaultMaxHashes is how many password checks run at once by default: one
// per two CPUs, at least one and at most four. Each argon2id check (p=4)
// keeps four lanes busy, so more at once only makes every check slower
// (and takes 64 MiB more) without checking more per second; the queue
// (Config.MaxHashQueue) is as long by default, so that a login waits for
// at most about two checks' time.
func DefaultMaxHashes() int { return min(4, max(1, runtime.GOMAXPROCS(0)/2)) }

// Store is what the endpoint reads and writes (storage.Storage).
type Store interface {
	GetUser(ctx context.Context, userID string) (storage.User, error)
	GetUserByEmail(ctx context.Context, email string) (storage.User, error)
	CreateSession(ctx context.Context, s storage.LoginSession) error
	GetSession(ctx context.Context, id string) (storage.LoginSession, error)
	DeleteSession(ctx context.Context, id string) error
	CreateAuthCode(ctx context.Context, c storage.AuthCode) error
	GetConsent(ctx context.Context, userID, clientID, audience string) (storage.Consent, error)
	PutConsent(ctx context.Context, c storage.Consent) error
}

var _ Store = storage.Storage(nil)

// Permissions reads what a person holds of an API through roles and
// direct permissions (storage.Authz).
type Permissions interface {
	UserScopes(ctx context.Context, userID, audience string) ([]string, error)
}

var _ Permissions = storage.Authz(nil)

// Catalog is the in-memory view of clients and APIs (package catalog).
type Catalog interface {
	Snapshot() *catalog.Snapshot
}

// PasswordVerifier checks a password against a stored hash (package users).
type PasswordVerifier interface {
	Verify(hash, password string) (bool, error)
	Hash(password string) (string, error)
}

var _ PasswordVerifier = users.Hasher{}

// Config configures a Handler.
type Config struct {
	Issuer  string
	Store   Store
	Catalog Catalog
	// Permissions reads people's permissions for the APIs that enforce
	// policies; nil: nobody holds any.
	Permissions Permissions
	Passwords   PasswordVerifier // nil: users.Hasher{} (argon2id, RFC 9106)
	Throttle    *users.Throttle  // nil: users.NewThrottle(users.DefaultThrottle)
	// ClientIP names the client's address for throttling; nil:
	// clientip.FromRequest (the server's resolution, else the peer).
	ClientIP        func(*http.Request) netip.Addr
	Now             func() time.Time
	Rand            io.Reader
	Logger          *slog.Logger
	CodeLifetime    time.Duration
	SessionLifetime time.Duration
	// MaxHashes bounds concurrent password checks (each argon2id takes
	// 64 MiB; default DefaultMaxHashes); up to MaxHashQueue more wait
	// (default as many; clean addresses first), and past that a login is
	// answered 503 with Retry-After (users.Gate).
	MaxHashes    int
	MaxHashQueue int
	// IDTokenHint checks logout's id_token_hint; nil: a hint is refused.
	IDTokenHint IDTokenHint
	// CSRFKey is the HMAC key of the forms' CSRF tokens (32 bytes or
	// more), the same on every instance behind one load balancer; nil: a
	// random key of this process.
	CSRFKey []byte
	// Audit, if set, records logins (successful or not, never the email or
	// password typed), consents and logouts (package audit).
	Audit Auditor
}

// Auditor records audit events (package audit's Recorder).
type Auditor interface {
	Audit(ctx context.Context, e storage.AuditEvent) error
}

// ActorAnonymous is the actor of a failed login whose email names no user.
const ActorAnonymous = "anonymous"

// audit records an event if an Auditor is set; a failed write is the
// auditor's to log.
func (h *Handler) audit(ctx context.Context, actor, action, target, outcome string, details map[string]string) {
	if h.cfg.Audit == nil {
		return
	}
	_ = h.cfg.Audit.Audit(ctx, storage.AuditEvent{Time: h.cfg.Now(), Actor: actor, Action: action, Target: target, Outcome: outcome, Details: details})
}

// Handler serves /authorize, /authorize/login, /authorize/consent and
// /oidc/logout.
type Handler struct {
	cfg       Config
	base      string // the issuer without a trailing slash
	origin    string // the issuer's scheme://host
	hashes    *users.Gate
	csrfKey   []byte
	dummyOnce sync.Once
	dummy     string
}

// New returns the endpoint for cfg.
func New(cfg Config) (*Handler, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("authorize: issuer %q is not an absolute URL", cfg.Issuer)
	}
	if cfg.Store == nil || cfg.Catalog == nil {
		return nil, errors.New("authorize: store and catalog are required")
	}
	if cfg.Passwords == nil {
		cfg.Passwords = users.Hasher{}
	}
	if cfg.Throttle == nil {
		cfg.Throttle = users.NewThrottle(users.DefaultThrottle)
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
	if cfg.CodeLifetime <= 0 {
		cfg.CodeLifetime = DefaultCodeLifetime
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = DefaultSessionLifetime
	}
	if cfg.MaxHashes <= 0 {
		cfg.MaxHashes = DefaultMaxHashes()
	}
	if cfg.MaxHashQueue <= 0 {
		cfg.MaxHashQueue = cfg.MaxHashes
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = clientip.FromRequest
	}
	key := cfg.CSRFKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := io.ReadFull(rand.Reader, key); err != nil {
			return nil, fmt.Errorf("authorize: CSRF key: %w", err)
		}
	} else if len(key) < 32 {
		return nil, errors.New("authorize: the CSRF key must have at least 32 bytes")
	}
	return &Handler{
		cfg: cfg, base: strings.TrimRight(cfg.Issuer, "/"), origin: webform.OriginOf(u),
		hashes: users.NewGate(cfg.MaxHashes, cfg.MaxHashQueue), csrfKey: key,
	}, nil
}

// HashingStats returns the password checks running now, the most that ran
// at once, and the logins waiting for one (users.Gate.Stats).
func (h *Handler) HashingStats() (busy, peak, waiting int) { return h.hashes.Stats() }

// ServeHTTP routes the three paths.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case Path:
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			errorPage(w, http.StatusMethodNotAllowed, "This page answers GET and POST only.")
			return
		}
		h.authorize(w, r)
	case PathLogin, PathConsent:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			errorPage(w, http.StatusMethodNotAllowed, "This page answers POST only.")
			return
		}
		if r.URL.Path == PathLogin {
			h.login(w, r)
		} else {
			h.consent(w, r)
		}
	case PathLogout:
		h.logout(w, r)
	default:
		http.NotFound(w, r)
	}
}

// readForm parses an application/x-www-form-urlencoded POST body, at most
// 64 KiB; the query string is not read.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		errorPage(w, http.StatusUnsupportedMediaType, "The form must be sent as application/x-www-form-urlencoded.")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return nil, false
	}
	return r.PostForm, true
}

// authorize is GET and POST /authorize (RFC 6749 §4.1.1, OIDC Core
// §3.1.2.1: POST carries the parameters form-serialized).
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	var v url.Values
	if r.Method == http.MethodPost {
		var ok bool
		if v, ok = readForm(w, r); !ok {
			return
		}
	} else {
		var err error
		if v, err = url.ParseQuery(r.URL.RawQuery); err != nil {
			errorPage(w, http.StatusBadRequest, "The authorization request could not be read.")
			return
		}
	}
	snap := h.cfg.Catalog.Snapshot()
	req, msg := identify(v, snap)
	if req == nil {
		errorPage(w, http.StatusBadRequest, msg)
		return
	}
	if e := validate(req, v, snap); e != nil {
		h.redirectError(w, r, req, e)
		return
	}
	now := h.cfg.Now()
	sess, user, err := h.session(r, now)
	if err != nil {
		h.fail(w, r, req, err)
		return
	}
	if user == nil || req.hasPrompt("login") ||
		(req.maxAge >= 0 && now.Sub(sess.AuthTime) > time.Duration(req.maxAge)*time.Second) {
		if req.hasPrompt("none") {
			h.redirectError(w, r, req, &authzError{ErrLoginRequired, "the user is not logged in"})
			return
		}
		h.loginPage(w, r, req, http.StatusOK, "", req.loginHint, 0)
		return
	}
	if err := h.forUser(r.Context(), req, user); err != nil {
		h.fail(w, r, req, err)
		return
	}
	need, err := h.needsConsent(r.Context(), req, user)
	if err != nil {
		h.fail(w, r, req, err)
		return
	}
	if need {
		if req.hasPrompt("none") {
			h.redirectError(w, r, req, &authzError{ErrConsentRequired, "the user has not consented"})
			return
		}
		h.consentPage(w, r, req, user)
		return
	}
	h.issueCode(w, r, req, user, sess, now)
}

// fromForm re-reads the authorization request the login or consent form
// carries, under the same checks as /authorize: the form is the browser's
// to change.
func (h *Handler) fromForm(w http.ResponseWriter, r *http.Request) (*request, url.Values, bool) {
	form, ok := readForm(w, r)
	if !ok {
		return nil, nil, false
	}
	v, err := url.ParseQuery(form.Get("request"))
	if err != nil {
		errorPage(w, http.StatusBadRequest, "The authorization request could not be read.")
		return nil, nil, false
	}
	snap := h.cfg.Catalog.Snapshot()
	req, msg := identify(v, snap)
	if req == nil {
		errorPage(w, http.StatusBadRequest, msg)
		return nil, nil, false
	}
	if e := validate(req, v, snap); e != nil {
		h.redirectError(w, r, req, e)
		return nil, nil, false
	}
	if !h.checkCSRF(r, form) {
		errorPage(w, http.StatusForbidden, "This form expired or was not sent from this site. Go back to the application and try again.")
		return nil, nil, false
	}
	return req, form, true
}

// login is POST /authorize/login: it checks the password, throttled per
// user and address and per address (users.Throttle), starts a new session
// and goes back to /authorize.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	req, form, ok := h.fromForm(w, r)
	if !ok {
		return
	}
	email, password := strings.TrimSpace(form.Get("email")), form.Get("password")
	key, addr := storage.NormalizeEmail(email), h.cfg.ClientIP(r)
	v := h.cfg.Throttle.Check(key, addr, h.cfg.Now())
	if !v.OK {
		h.audit(r.Context(), ActorAnonymous, storage.AuditUserLogin, req.client.ClientID, storage.OutcomeFailure, map[string]string{"reason": "throttled"})
		h.loginPage(w, r, req, http.StatusTooManyRequests,
			fmt.Sprintf("Too many failed attempts from your network. Try again in %s.", v.RetryAfter.Round(time.Second)), email, v.RetryAfter)
		return
	}
	if v.Delay > 0 && !sleep(r.Context(), v.Delay) {
		return // the browser left
	}
	user, known, err := h.checkPassword(r.Context(), email, password, v.Clean)
	switch {
	case errors.Is(err, users.ErrBusy):
		h.cfg.Throttle.Busy(addr, h.cfg.Now())
		h.loginPage(w, r, req, http.StatusServiceUnavailable, "Too many logins are being checked right now. Try again in a moment.", email, busyRetry)
		return
	case err != nil && r.Context().Err() != nil:
		return // the browser left: its password is not checked
	case err != nil:
		h.fail(w, r, req, err)
		return
	}
	now := h.cfg.Now()
	if user == nil || user.Disabled {
		actor, reason := ActorAnonymous, "unknown_user"
		if known != "" {
			actor, reason = known, "wrong_password"
		}
		if user != nil {
			// Disabled: the same answer as for a wrong password, so that the
			// page confirms no password of a blocked account.
			actor, reason = user.UserID, "disabled"
		}
		h.audit(r.Context(), actor, storage.AuditUserLogin, req.client.ClientID, storage.OutcomeFailure, map[string]string{"reason": reason})
		h.cfg.Throttle.Failed(key, addr, now)
		h.loginPage(w, r, req, http.StatusUnauthorized, "Wrong email or password.", email, 0)
		return
	}
	h.cfg.Throttle.Succeeded(key, addr)
	// A new session on every login (no session fixation); the old one ends.
	if c, err := r.Cookie(h.cookieName(r, sessionCookie)); err == nil {
		_ = h.cfg.Store.DeleteSession(r.Context(), digest(c.Value))
	}
	value, err := h.random()
	if err != nil {
		h.fail(w, r, req, err)
		return
	}
	sess := storage.LoginSession{ID: digest(value), UserID: user.UserID, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(h.cfg.SessionLifetime)}
	if err := h.cfg.Store.CreateSession(r.Context(), sess); err != nil {
		h.fail(w, r, req, err)
		return
	}
	h.setCookie(w, r, sessionCookie, value, h.cfg.SessionLifetime)
	h.audit(r.Context(), user.UserID, storage.AuditUserLogin, req.client.ClientID, storage.OutcomeSuccess, nil)
	http.Redirect(w, r, h.base+Path+"?"+req.again("login"), http.StatusSeeOther)
}

// busyRetry is the Retry-After of a login refused because every password
// check slot and the queue were taken: about one check's time.
const busyRetry = time.Second

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// checkPassword returns the user whose email and password these are, or
// nil and, when the email names a user, that user's ID. An unknown email
// costs one argon2id like a known one. The check waits for a slot of the
// hashing gate (clean: the address has no recent failures) and is not
// started once ctx ended; users.ErrBusy when the gate's queue is full.
func (h *Handler) checkPassword(ctx context.Context, email, password string, clean bool) (*storage.User, string, error) {
	// The slot first: a login refused for want of one costs no database read.
	release, err := h.hashes.Acquire(ctx, clean)
	if err != nil {
		return nil, "", err
	}
	defer release()
	user, err := h.cfg.Store.GetUserByEmail(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, "", err
	}
	hash := user.PasswordHash
	if !found {
		hash = h.dummyHash()
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	ok, verr := h.cfg.Passwords.Verify(hash, password)
	if verr != nil && found {
		return nil, "", fmt.Errorf("verify password of user %s: %w", user.UserID, verr)
	}
	if !found {
		return nil, "", nil
	}
	if !ok || password == "" {
		return nil, user.UserID, nil
	}
	return &user, user.UserID, nil
}

func (h *Handler) dummyHash() string {
	h.dummyOnce.Do(func() {
		h.dummy, _ = h.cfg.Passwords.Hash("gatehouse-no-such-user")
	})
	return h.dummy
}

// consent is POST /authorize/consent: Deny sends access_denied to the
// client, Allow records the consent and goes back to /authorize.
func (h *Handler) consent(w http.ResponseWriter, r *http.Request) {
	req, form, ok := h.fromForm(w, r)
	if !ok {
		return
	}
	now := h.cfg.Now()
	_, user, err := h.session(r, now)
	if err != nil {
		h.fail(w, r, req, err)
		return
	}
	if user == nil {
		h.loginPage(w, r, req, http.StatusOK, "Your session ended. Log in again.", "", 0)
		return
	}
	if err := h.forUser(r.Context(), req, user); err != nil {
		h.fail(w, r, req, err)
		return
	}
	switch form.Get("decision") {
	case "allow":
	case "deny":
		h.audit(r.Context(), user.UserID, storage.AuditConsentDenied, req.client.ClientID, storage.OutcomeSuccess, map[string]string{"audience": req.audience})
		h.redirectError(w, r, req, &authzError{ErrAccessDenied, "the user denied the request"})
		return
	default:
		errorPage(w, http.StatusBadRequest, "Choose Allow or Deny.")
		return
	}
	c, err := h.cfg.Store.GetConsent(r.Context(), user.UserID, req.client.ClientID, req.audience)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.fail(w, r, req, err)
		return
	}
	if errors.Is(err, storage.ErrNotFound) {
		c = storage.Consent{UserID: user.UserID, ClientID: req.client.ClientID, Audience: req.audience, CreatedAt: now}
	}
	for _, s := range req.scope {
		if !slices.Contains(c.Scope, s) {
			c.Scope = append(c.Scope, s)
		}
	}
	c.UpdatedAt = now
	if err := h.cfg.Store.PutConsent(r.Context(), c); err != nil {
		h.fail(w, r, req, err)
		return
	}
	h.audit(r.Context(), user.UserID, storage.AuditConsentGranted, req.client.ClientID, storage.OutcomeSuccess,
		map[string]string{"audience": req.audience, "scope": strings.Join(req.scope, " ")})
	http.Redirect(w, r, h.base+Path+"?"+req.again("consent"), http.StatusSeeOther)
}

// forUser narrows the request's API scopes to the person's permissions
// when the API enforces policies (Auth0's RBAC), so that the consent page,
// the consent stored and the code hold what the token will carry, never
// more (the token endpoint applies the same rules again).
func (h *Handler) forUser(ctx context.Context, req *request, user *storage.User) error {
	if req.api == nil || !req.api.EnforcePolicies {
		return nil
	}
	var held []string
	if h.cfg.Permissions != nil {
		var err error
		if held, err = h.cfg.Permissions.UserScopes(ctx, user.UserID, req.audience); err != nil {
			return fmt.Errorf("read the permissions of user %s: %w", user.UserID, err)
		}
	}
	req.scope = slices.DeleteFunc(req.scope, func(s string) bool { return oidcScopes[s] == "" && !slices.Contains(held, s) })
	return nil
}

// needsConsent: first-party clients never ask; others ask when prompt has
// consent or the user has not yet allowed every scope asked for.
func (h *Handler) needsConsent(ctx context.Context, req *request, user *storage.User) (bool, error) {
	if req.client.FirstParty {
		return false, nil
	}
	if req.hasPrompt("consent") {
		return true, nil
	}
	c, err := h.cfg.Store.GetConsent(ctx, user.UserID, req.client.ClientID, req.audience)
	if errors.Is(err, storage.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, s := range req.scope {
		if !slices.Contains(c.Scope, s) {
			return true, nil
		}
	}
	return false, nil
}

// issueCode stores a new authorization code and sends the browser to the
// client with it (RFC 6749 §4.1.2, RFC 9207 iss).
func (h *Handler) issueCode(w http.ResponseWriter, r *http.Request, req *request, user *storage.User, sess storage.LoginSession, now time.Time) {
	code, err := h.random()
	if err != nil {
		h.fail(w, r, req, err)
		return
	}
	ac := storage.AuthCode{
		ID: CodeID(code), ClientID: req.client.ClientID, UserID: user.UserID, RedirectURI: req.givenURI,
		Scope: req.scope, Audience: req.audience, Nonce: req.nonce, CodeChallenge: req.challenge,
		AuthTime: sess.AuthTime, CreatedAt: now, ExpiresAt: now.Add(h.cfg.CodeLifetime),
	}
	if err := h.cfg.Store.CreateAuthCode(r.Context(), ac); err != nil {
		h.fail(w, r, req, err)
		return
	}
	h.redirect(w, r, req, url.Values{"code": {code}})
}

// CodeID is the name under which a code is stored: the base64url SHA-256
// digest, so that a leaked database holds no usable code.
func CodeID(code string) string { return base64.RawURLEncoding.EncodeToString(secret.Digest(code)) }

func digest(v string) string { return base64.RawURLEncoding.EncodeToString(secret.Digest(v)) }

// random returns 256 random bits, base64url.
func (h *Handler) random() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(h.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// redirect sends the browser to the request's redirect URI with params,
// state and iss (RFC 6749 §4.1.2, RFC 9207 §2) in the request's response
// mode: added to the query, keeping the query the registered URI has (RFC
// 6749 §3.1.2); in the fragment; or posted by an auto-submitting form
// (OAuth 2.0 Form Post Response Mode §2), which keeps the code out of
// the URL, the history and the Referer.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, req *request, params url.Values) {
	u, err := url.Parse(req.redirectURI)
	if err != nil { // registered URIs parse: admin checks them
		errorPage(w, http.StatusInternalServerError, "The application's redirect URI is broken.")
		return
	}
	if req.state != "" {
		params.Set("state", req.state)
	}
	params.Set("iss", h.cfg.Issuer)
	w.Header().Set("Cache-Control", "no-store")
	switch req.mode {
	case ModeFormPost:
		p := page{Title: "Back to " + req.client.Name, ClientName: req.client.Name, PostTo: template.URL(req.redirectURI)}
		for _, k := range slices.Sorted(maps.Keys(params)) {
			p.Fields = append(p.Fields, field{k, params.Get(k)})
		}
		renderCSP(w, http.StatusOK, "formpost", p, 0, formPostCSP)
		return
	case ModeFragment:
		http.Redirect(w, r, u.String()+"#"+params.Encode(), http.StatusFound)
		return
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (h *Handler) redirectError(w http.ResponseWriter, r *http.Request, req *request, e *authzError) {
	h.redirect(w, r, req, url.Values{"error": {e.code}, "error_description": {e.desc}})
}

// fail logs an internal error and tells the client server_error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, req *request, err error) {
	h.cfg.Logger.Error("authorization request failed", "client_id", req.client.ClientID, "err", err)
	h.redirectError(w, r, req, &authzError{ErrServerError, "the server could not complete the request"})
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request, req *request, status int, msg, email string, retry time.Duration) {
	csrf, err := h.csrfToken(w, r)
	if err != nil {
		h.fail(w, r, req, err)
		return
	}
	render(w, status, "login", page{
		Title: "Log in", ClientName: req.client.Name, Error: msg, Action: h.base + PathLogin,
		CSRF: csrf, Request: req.params.Encode(), Email: email,
	}, retry)
}

func (h *Handler) consentPage(w http.ResponseWriter, r *http.Request, req *request, user *storage.User) {
	csrf, err := h.csrfToken(w, r)
	if err != nil {
		h.fail(w, r, req, err)
		return
	}
	var scopes []string
	for _, s := range req.scope {
		if d, ok := oidcScopes[s]; ok {
			scopes = append(scopes, d)
			continue
		}
		d := s
		for _, as := range req.api.Scopes {
			if as.Value == s && as.Description != "" {
				d = as.Description + " (" + s + ")"
			}
		}
		scopes = append(scopes, d)
	}
	render(w, http.StatusOK, "consent", page{
		Title: "Authorize " + req.client.Name, ClientName: req.client.Name, Action: h.base + PathConsent,
		CSRF: csrf, Request: req.params.Encode(), Scopes: scopes, Audience: req.audience, User: user.Email,
	}, 0)
}

// Cookies. Under TLS (or an https issuer) they are Secure and carry the
// __Host- prefix, which also forbids a Domain attribute and so cookie
// injection from sibling hosts.
const (
	sessionCookie = "gatehouse_session"
	csrfCookie    = "gatehouse_csrf"
)

func (h *Handler) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(h.cfg.Issuer, "https://")
}

func (h *Handler) cookieName(r *http.Request, name string) string {
	if h.secure(r) {
		return "__Host-" + name
	}
	return name
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(r, name), Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

// SessionCookieName returns the session cookie's name for a request
// (package oidc ends the session on logout).
func (h *Handler) SessionCookieName(r *http.Request) string { return h.cookieName(r, sessionCookie) }

// EndSession deletes the request's session, if any, and clears its cookie
// (OpenID Connect RP-Initiated Logout §2). It returns the user it was.
func (h *Handler) EndSession(w http.ResponseWriter, r *http.Request) (userID string) {
	c, err := r.Cookie(h.cookieName(r, sessionCookie))
	if err != nil {
		return ""
	}
	id := digest(c.Value)
	if s, err := h.cfg.Store.GetSession(r.Context(), id); err == nil {
		userID = s.UserID
	}
	_ = h.cfg.Store.DeleteSession(r.Context(), id)
	http.SetCookie(w, &http.Cookie{Name: c.Name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
	return userID
}

// session returns the request's live session and its user, or nil for
// none (no cookie, unknown, expired, or the user is gone or disabled).
func (h *Handler) session(r *http.Request, now time.Time) (storage.LoginSession, *storage.User, error) {
	c, err := r.Cookie(h.cookieName(r, sessionCookie))
	if err != nil || c.Value == "" {
		return storage.LoginSession{}, nil, nil
	}
	s, err := h.cfg.Store.GetSession(r.Context(), digest(c.Value))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.LoginSession{}, nil, nil
	}
	if err != nil {
		return storage.LoginSession{}, nil, err
	}
	if !now.Before(s.ExpiresAt) {
		return storage.LoginSession{}, nil, nil
	}
	u, err := h.cfg.Store.GetUser(r.Context(), s.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.LoginSession{}, nil, nil
	}
	if err != nil {
		return storage.LoginSession{}, nil, err
	}
	if u.Disabled {
		return storage.LoginSession{}, nil, nil
	}
	return s, &u, nil
}

// csrfToken returns the CSRF token of the browser's forms, setting the
// browser's CSRF cookie (256 random bits) when it has none. The token is
// an HMAC-SHA256, under the server's CSRF key, of that cookie and of the
// login session's cookie when there is one: a page elsewhere can neither
// read the cookies nor, without the key, make a token that matches them
// (a naive double submit accepts any value the attacker sets in both), and
// a token of one session is worthless in another. The cookie carries the
// binding before any session exists, which is when login CSRF happens.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(h.cookieName(r, csrfCookie)); err == nil && len(c.Value) == 43 {
		return h.csrfMAC(c.Value, h.sessionValue(r)), nil
	}
	v, err := h.random()
	if err != nil {
		return "", err
	}
	h.setCookie(w, r, csrfCookie, v, h.cfg.SessionLifetime)
	return h.csrfMAC(v, h.sessionValue(r)), nil
}

func (h *Handler) sessionValue(r *http.Request) string {
	if c, err := r.Cookie(h.cookieName(r, sessionCookie)); err == nil {
		return c.Value
	}
	return ""
}

func (h *Handler) csrfMAC(browser, session string) string {
	return h.guard().Token(browser, session)
}

func (h *Handler) guard() webform.Guard { return webform.Guard{Key: h.csrfKey, Origin: h.origin} }

// checkCSRF checks a state-changing form: the browser must not say it came
// from elsewhere (Origin, when sent, is this issuer's, and "null" — a
// sandboxed or privacy-redirected context — is refused; without Origin,
// Sec-Fetch-Site, when sent, is same-origin), and its token must be the
// HMAC of this browser's cookies (csrfToken).
func (h *Handler) checkCSRF(r *http.Request, form url.Values) bool {
	c, err := r.Cookie(h.cookieName(r, csrfCookie))
	if err != nil {
		return false
	}
	return h.guard().Check(r, c.Value, h.sessionValue(r), form.Get("csrf_token"))
}
