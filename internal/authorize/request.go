package authorize

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/access"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// OpenID Connect scopes (OIDC Core §5.4, §11) and what the consent page
// says about them.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
)

var oidcScopes = map[string]string{
	ScopeOpenID:        "Sign you in with your account",
	ScopeProfile:       "See your name",
	ScopeEmail:         "See your email address",
	ScopeOfflineAccess: "Keep access while you are away (refresh tokens)",
}

// OIDCScopes lists the OpenID Connect scopes gatehouse supports.
var OIDCScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// Error codes of the authorization endpoint (RFC 6749 §4.1.2.1, OIDC Core
// §3.1.2.6).
const (
	ErrInvalidRequest          = "invalid_request"
	ErrUnauthorizedClient      = "unauthorized_client"
	ErrAccessDenied            = "access_denied"
	ErrUnsupportedResponseType = "unsupported_response_type"
	ErrInvalidScope            = "invalid_scope"
	ErrServerError             = "server_error"
	ErrInvalidTarget           = "invalid_target" // RFC 8707 §2
	ErrLoginRequired           = "login_required"
	ErrConsentRequired         = "consent_required"
	ErrRequestNotSupported     = "request_not_supported"
	ErrRequestURINotSupported  = "request_uri_not_supported"
)

// authzError is an error returned to the client at its redirect URI.
type authzError struct{ code, desc string }

// request is a validated authorization request.
type request struct {
	client      *catalog.Client
	redirectURI string // the one to send the browser to
	givenURI    string // as the request gave it ("" when omitted), for the token request
	state       string
	scope       []string // what may be granted, in request order
	audience    string
	api         *storage.API
	ceiling     []string // the API scopes the client may obtain for people (package access)
	nonce       string
	challenge   string
	prompt      []string
	maxAge      int // -1: not given
	loginHint   string
	mode        string     // the response mode: ModeQuery, ModeFragment or ModeFormPost
	params      url.Values // the known parameters, to come back to /authorize with
}

// Response modes (OAuth 2.0 Multiple Response Type Encoding Practices §2.1,
// OAuth 2.0 Form Post Response Mode §2): how the authorization response's
// parameters reach the redirect URI.
const (
	ModeQuery    = "query"
	ModeFragment = "fragment"
	ModeFormPost = "form_post"
)

// ResponseModes are the response modes supported, as discovery lists them.
var ResponseModes = []string{ModeQuery, ModeFragment, ModeFormPost}

func (r *request) hasPrompt(p string) bool { return slices.Contains(r.prompt, p) }

// knownParams are the parameters carried from the login and consent pages
// back to /authorize; anything else is ignored (RFC 6749 §3.1).
var knownParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
	"code_challenge_method", "audience", "resource", "prompt", "max_age", "login_hint", "response_mode", "request", "request_uri"}

// identify finds the client and the redirect URI, which must both be right
// before any error may be sent to the redirect URI (RFC 6749 §4.1.2.1,
// RFC 9700 §4.1: never an open redirector). It returns the message of an
// error page otherwise.
func identify(v url.Values, snap *catalog.Snapshot) (*request, string) {
	for _, p := range []string{"client_id", "redirect_uri"} {
		if len(v[p]) > 1 {
			return nil, "The parameter " + p + " was given more than once."
		}
	}
	id := v.Get("client_id")
	if id == "" {
		return nil, "The request has no client_id."
	}
	c, ok := snap.Client(id)
	if !ok || c.Disabled {
		return nil, "The application that sent you here is unknown or disabled."
	}
	given := v.Get("redirect_uri")
	uri := given
	if given == "" {
		// OAuth 2.1 §4.1.1: optional when the client registered exactly one.
		if len(c.RedirectURIs) != 1 {
			return nil, "The request has no redirect_uri, and the application registered more than one."
		}
		uri = c.RedirectURIs[0]
	} else if !registered(c, given) {
		return nil, "The redirect_uri is not registered for this application, so you are not sent there."
	}
	return &request{client: c, redirectURI: uri, givenURI: given, maxAge: -1, mode: ModeQuery}, ""
}

// registered reports whether uri is one of the client's redirect URIs:
// the same string, or — for a native client's loopback URI — the same but
// for the port, which the operating system picks when the app listens
// (RFC 8252 §7.3: the server MUST allow any port). Only http on the
// loopback IP literals 127.0.0.1 and [::1] is matched so; scheme, host,
// path and query must still be identical, and no other client or URI is
// relaxed.
func registered(c *catalog.Client, uri string) bool {
	if slices.Contains(c.RedirectURIs, uri) {
		return true
	}
	if c.AppType != storage.AppTypeNative {
		return false
	}
	given, ok := loopback(uri)
	if !ok {
		return false
	}
	for _, r := range c.RedirectURIs {
		if reg, ok := loopback(r); ok && reg == given {
			return true
		}
	}
	return false
}

// loopback returns uri without its port when it is an http URI on a
// loopback IP literal (compared as text, so that nothing but the port may
// differ: not the encoding of the path, not the case).
func loopback(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, "http://")
	if !ok {
		return "", false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		port, ok := strings.CutPrefix(authority, host)
		if !ok {
			continue
		}
		if port != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(port, ":"))
			if port[0] != ':' || err != nil || n < 1 || n > 65535 || ":"+strconv.Itoa(n) != port {
				return "", false
			}
		}
		return "http://" + host + tail, !strings.Contains(tail, "#")
	}
	return "", false
}

// validate checks the rest of the request; its errors go to the redirect URI.
func validate(req *request, v url.Values, snap *catalog.Snapshot) *authzError {
	if len(v["state"]) == 1 {
		req.state = v.Get("state")
	}
	for _, p := range knownParams {
		if len(v[p]) > 1 && p != "resource" {
			return &authzError{ErrInvalidRequest, "the parameter " + p + " was given more than once"}
		}
	}
	// The response mode first, so that the errors below use it; an unknown
	// one is refused in the default mode, never ignored.
	switch m := v.Get("response_mode"); m {
	case "":
	case ModeQuery, ModeFragment, ModeFormPost:
		req.mode = m
	default:
		return &authzError{ErrInvalidRequest, "response_mode must be query, fragment or form_post"}
	}
	if v.Get("request") != "" {
		return &authzError{ErrRequestNotSupported, "request objects are not supported"}
	}
	if v.Get("request_uri") != "" {
		return &authzError{ErrRequestURINotSupported, "request_uri is not supported"}
	}
	switch rt := v.Get("response_type"); rt {
	case "code":
	case "":
		return &authzError{ErrInvalidRequest, "response_type is required"}
	default:
		return &authzError{ErrUnsupportedResponseType, "only response_type=code is supported"}
	}
	if !req.client.AllowsGrant(storage.GrantAuthorizationCode) {
		return &authzError{ErrUnauthorizedClient, "the client may not use the authorization code flow"}
	}
	// PKCE is required of every client, S256 only (OAuth 2.1 §4.1.1, RFC 9700 §2.1.1).
	req.challenge = v.Get("code_challenge")
	method := v.Get("code_challenge_method")
	switch {
	case req.challenge == "":
		return &authzError{ErrInvalidRequest, "code_challenge is required (PKCE with S256)"}
	case method != oauth.PKCEMethodS256:
		return &authzError{ErrInvalidRequest, "code_challenge_method must be S256"}
	case !oauth.ValidS256Challenge(req.challenge):
		return &authzError{ErrInvalidRequest, "code_challenge is not an S256 challenge (43 base64url characters)"}
	}
	// Audience (Auth0) or resource (RFC 8707).
	aud := v.Get("audience")
	switch res := v["resource"]; len(res) {
	case 0:
	case 1:
		if err := oauth.ValidResource(res[0]); err != nil {
			return &authzError{ErrInvalidTarget, err.Description}
		}
		if aud != "" && aud != res[0] {
			return &authzError{ErrInvalidRequest, "audience and resource name different APIs"}
		}
		aud = res[0]
	default:
		return &authzError{ErrInvalidTarget, "only one resource may be requested"}
	}
	if aud != "" {
		api, ok := snap.API(aud)
		if !ok {
			return &authzError{ErrInvalidTarget, "the audience is not a registered API"}
		}
		req.audience, req.api = aud, api
		// RFC 9700 §2.3: a login client gets a person's token for an API
		// only as the API's user policy and the client's user grant allow.
		ceiling, err := access.UserCeiling(api, req.client)
		if err != nil {
			return &authzError{ErrAccessDenied, "the client may not obtain tokens about users for this API: " + err.Error()}
		}
		req.ceiling = ceiling
	}
	// Scope: OpenID Connect scopes and the API's own that the client may
	// obtain for people; others are ignored (RFC 6749 §3.3 lets the server
	// grant less than asked). forUser narrows them to the person's
	// permissions once the person is known.
	for _, s := range strings.Split(v.Get("scope"), " ") {
		if s == "" {
			continue
		}
		if !validScopeToken(s) {
			return &authzError{ErrInvalidScope, "a scope is malformed"}
		}
		switch {
		case slices.Contains(req.scope, s):
		case s == ScopeOfflineAccess:
			// A refresh token needs a client that may refresh and, for an
			// API, an API that allows offline access.
			if req.client.AllowsGrant(storage.GrantRefreshToken) && (req.api == nil || req.api.AllowOfflineAccess) {
				req.scope = append(req.scope, s)
			}
		case oidcScopes[s] != "":
			req.scope = append(req.scope, s)
		case slices.Contains(req.ceiling, s):
			req.scope = append(req.scope, s)
		}
	}
	if req.givenURI == "" && slices.Contains(req.scope, ScopeOpenID) {
		// OIDC Core §3.1.2.1: REQUIRED of OpenID Connect requests.
		return &authzError{ErrInvalidRequest, "redirect_uri is required with the openid scope"}
	}
	req.nonce = v.Get("nonce")
	if p := v.Get("prompt"); p != "" {
		for _, x := range strings.Split(p, " ") {
			if x != "" && !slices.Contains(req.prompt, x) {
				req.prompt = append(req.prompt, x)
			}
		}
		if req.hasPrompt("none") && len(req.prompt) > 1 {
			return &authzError{ErrInvalidRequest, "prompt=none cannot be combined with other values"}
		}
	}
	if ma := v.Get("max_age"); ma != "" {
		n, err := strconv.Atoi(ma)
		if err != nil || n < 0 {
			return &authzError{ErrInvalidRequest, "max_age must be a non-negative number of seconds"}
		}
		req.maxAge = n
	}
	req.loginHint = v.Get("login_hint")
	req.params = url.Values{}
	for _, p := range knownParams {
		if vs, ok := v[p]; ok {
			req.params[p] = vs
		}
	}
	return nil
}

func apiDefines(api *storage.API, scope string) bool {
	for _, s := range api.Scopes {
		if s.Value == scope {
			return true
		}
	}
	return false
}

// validScopeToken checks RFC 6749 §3.3 scope-token syntax.
func validScopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// again returns the request's parameters with the prompt value drop
// removed: the query to come back to /authorize with once the login or the
// consent it asked for is done.
func (r *request) again(drop string) string {
	v := url.Values{}
	for k, vs := range r.params {
		v[k] = vs
	}
	if len(r.prompt) > 0 {
		var keep []string
		for _, p := range r.prompt {
			if p != drop {
				keep = append(keep, p)
			}
		}
		if len(keep) == 0 {
			delete(v, "prompt")
		} else {
			v.Set("prompt", strings.Join(keep, " "))
		}
	}
	return v.Encode()
}
