package admin

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// LoginAppTypes are the application types of clients that log users in
// (ARCHITECTURE.md).
var LoginAppTypes = []string{storage.AppTypeRegularWeb, storage.AppTypeSPA, storage.AppTypeNative}

// MaxRedirectURIs bounds a client's redirect URIs and, separately, its
// logout URLs; MaxURILen bounds each.
const (
	MaxRedirectURIs = 50
	MaxURILen       = 2000
)

// IsPublic reports whether clients of the application type are public
// (RFC 6749 §2.1): single-page and native applications cannot keep a
// secret, so they have none and authenticate with their client_id alone.
func IsPublic(appType string) bool {
	return appType == storage.AppTypeSPA || appType == storage.AppTypeNative
}

// IsLogin reports whether clients of the application type log users in.
func IsLogin(appType string) bool { return slices.Contains(LoginAppTypes, appType) }

// LoginClientInput describes a new client that logs users in through the
// Authorization Code flow with PKCE; zero fields take their defaults.
type LoginClientInput struct {
	Name        string
	Description string
	// AppType is regular_web (confidential, with a secret), spa or native
	// (public, without one).
	AppType string
	// RedirectURIs are matched exactly against a request's redirect_uri.
	RedirectURIs []string
	// LogoutURLs are the allowed post_logout_redirect_uri values.
	LogoutURLs []string
	// WebOrigins may call the token and userinfo endpoints from a browser
	// (CORS): scheme://host[:port], matched exactly.
	WebOrigins []string
	// GrantTypes default to authorization_code and refresh_token.
	GrantTypes []string
	// FirstParty skips the consent page for the client's users.
	FirstParty bool
	Metadata   map[string]string
	// TokenEndpointAuthMethod defaults to none for a public client and
	// client_secret_post for a regular web application.
	TokenEndpointAuthMethod string
	// Extras are Auth0's settings kept and shown but not acted on.
	Extras storage.ClientExtras
	// RequireProofOfPossession makes every token of the client
	// sender-constrained (Auth0's require_proof_of_possession).
	RequireProofOfPossession bool
}

// CreateLoginClient creates a login client, reporting every problem at
// once. A regular web application gets a secret (returned once, as
// CreateClient does); a public one gets none and a zero NewSecret.
func (s *Service) CreateLoginClient(ctx context.Context, in LoginClientInput) (storage.Client, NewSecret, error) {
	now := s.now()
	c := storage.Client{
		Name: strings.TrimSpace(in.Name), Description: in.Description, AppType: in.AppType,
		GrantTypes:               slices.Clone(in.GrantTypes),
		RedirectURIs:             slices.Clone(in.RedirectURIs),
		AllowedLogoutURLs:        slices.Clone(in.LogoutURLs),
		WebOrigins:               slices.Clone(in.WebOrigins),
		FirstParty:               in.FirstParty,
		Metadata:                 maps.Clone(in.Metadata),
		Extras:                   in.Extras,
		RequireProofOfPossession: in.RequireProofOfPossession,
		CreatedAt:                now, UpdatedAt: now,
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{storage.GrantAuthorizationCode, storage.GrantRefreshToken}
	}
	c.TokenEndpointAuthMethod = in.TokenEndpointAuthMethod
	switch {
	case c.TokenEndpointAuthMethod != "":
	case IsPublic(c.AppType):
		c.TokenEndpointAuthMethod = storage.AuthMethodNone
	default:
		c.TokenEndpointAuthMethod = storage.AuthMethodClientSecretPost
	}
	var problems []string
	if !IsLogin(c.AppType) {
		problems = append(problems, fmt.Sprintf("app type %q must be one of %s for a login client", c.AppType, strings.Join(LoginAppTypes, ", ")))
	}
	problems = append(problems, checkClient(c)...)
	if len(problems) > 0 {
		return storage.Client{}, NewSecret{}, invalid("%s", strings.Join(problems, "; "))
	}
	id, err := secret.ClientID(s.rand())
	if err != nil {
		return storage.Client{}, NewSecret{}, err
	}
	c.ClientID = id
	var ns NewSecret
	var secrets []storage.Secret
	if !IsPublic(c.AppType) {
		if ns, err = s.newSecret(id, time.Time{}, time.Time{}); err != nil {
			return storage.Client{}, NewSecret{}, err
		}
		secrets = append(secrets, ns.Secret)
	}
	if err := s.Store.CreateClient(ctx, c, secrets...); err != nil {
		return storage.Client{}, NewSecret{}, fmt.Errorf("create client: %w", err)
	}
	details := map[string]string{"name": c.Name, "app_type": c.AppType}
	if ns.ID != "" {
		details["secret_id"] = ns.ID
	}
	s.record(ctx, storage.AuditClientCreated, c.ClientID, details)
	return c, ns, nil
}

// loginGrantTypes are the grant types a login client may have.
var loginGrantTypes = []string{storage.GrantAuthorizationCode, storage.GrantRefreshToken, storage.GrantClientCredentials}

// checkLogin reports every problem with the login settings of c: its grant
// types for its application type, its redirect URIs and its logout URLs.
func checkLogin(c storage.Client) []string {
	var problems []string
	login := IsLogin(c.AppType)
	if !login {
		if len(c.RedirectURIs) > 0 || len(c.AllowedLogoutURLs) > 0 || len(c.WebOrigins) > 0 {
			problems = append(problems, fmt.Sprintf("a %s client has no redirect URIs, logout URLs or web origins: it logs no users in (choose app type %s)",
				c.AppType, strings.Join(LoginAppTypes, ", ")))
		}
		for _, gt := range c.GrantTypes {
			if gt == storage.GrantAuthorizationCode || gt == storage.GrantRefreshToken {
				problems = append(problems, fmt.Sprintf("grant type %s is for login clients (app type %s)", gt, strings.Join(LoginAppTypes, ", ")))
			}
		}
		return problems
	}
	seen := map[string]bool{}
	for _, gt := range c.GrantTypes {
		switch {
		case !slices.Contains(loginGrantTypes, gt):
			problems = append(problems, fmt.Sprintf("grant type %q must be one of %s", gt, strings.Join(loginGrantTypes, ", ")))
		case seen[gt]:
			problems = append(problems, fmt.Sprintf("grant type %s is given twice", gt))
		case gt == storage.GrantClientCredentials && IsPublic(c.AppType):
			problems = append(problems, fmt.Sprintf("a %s client is public and cannot use client_credentials (RFC 6749 §4.4 needs a confidential client)", c.AppType))
		}
		seen[gt] = true
	}
	if seen[storage.GrantRefreshToken] && !seen[storage.GrantAuthorizationCode] {
		problems = append(problems, "grant type refresh_token needs authorization_code: refresh tokens come from the login flow")
	}
	if seen[storage.GrantAuthorizationCode] && len(c.RedirectURIs) == 0 {
		problems = append(problems, "a login client needs at least one redirect URI (--redirect-uri)")
	}
	problems = append(problems, checkURLs("redirect URI", c.RedirectURIs, c.AppType == storage.AppTypeNative)...)
	problems = append(problems, checkURLs("logout URL", c.AllowedLogoutURLs, false)...)
	problems = append(problems, checkOrigins(c.WebOrigins)...)
	return problems
}

// checkOrigins checks web origins: each an origin as a browser sends it in
// Origin (RFC 6454 §6.1) — https, or http on a loopback IP or localhost,
// a host, an optional port, nothing else (no path, no wildcard) — since
// CORS compares them exactly.
func checkOrigins(origins []string) []string {
	var problems []string
	if len(origins) > MaxRedirectURIs {
		problems = append(problems, fmt.Sprintf("%d web origins, at most %d are allowed", len(origins), MaxRedirectURIs))
	}
	seen := map[string]bool{}
	for _, o := range origins {
		if seen[o] {
			problems = append(problems, fmt.Sprintf("web origin %q is given twice", o))
			continue
		}
		seen[o] = true
		u, err := url.Parse(o)
		switch {
		case err != nil || u.Host == "" || u.User != nil || u.Opaque != "" || strings.ContainsAny(o, "*?#") ||
			u.Path != "" || len(o) > MaxURILen:
			problems = append(problems, fmt.Sprintf("web origin %q must be scheme://host[:port], without a path, wildcard, query or fragment", o))
		case u.Scheme+"://"+strings.ToLower(u.Host) != o:
			problems = append(problems, fmt.Sprintf("web origin %q must be written as browsers send it: lowercase scheme and host", o))
		case u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())):
			problems = append(problems, fmt.Sprintf("web origin %q must be https, or http on a loopback address", o))
		}
	}
	return problems
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// checkURLs checks redirect URIs or logout URLs: absolute, without a
// fragment (RFC 6749 §3.1.2) or a wildcard (exact matching, RFC 9700
// §2.1), https or http on a loopback IP address (RFC 8252 §7.3, OAuth 2.1
// §2.3.1); a native application may also use a private-use scheme with a
// reverse domain name (RFC 8252 §7.1).
func checkURLs(what string, uris []string, native bool) []string {
	var problems []string
	if len(uris) > MaxRedirectURIs {
		problems = append(problems, fmt.Sprintf("%d %ss, at most %d are allowed", len(uris), what, MaxRedirectURIs))
	}
	seen := map[string]bool{}
	for _, raw := range uris {
		if seen[raw] {
			problems = append(problems, fmt.Sprintf("%s %q is given twice", what, raw))
			continue
		}
		seen[raw] = true
		if err := checkURL(raw, native); err != "" {
			problems = append(problems, fmt.Sprintf("%s %q %s", what, raw, err))
		}
	}
	return problems
}

// checkURL returns what is wrong with one redirect URI or logout URL, or "".
func checkURL(raw string, native bool) string {
	if raw == "" {
		return "is empty"
	}
	if len(raw) > MaxURILen {
		return fmt.Sprintf("is longer than %d characters", MaxURILen)
	}
	if strings.ContainsAny(raw, " \t\r\n") || strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "must not contain white space or control characters"
	}
	if strings.Contains(raw, "#") {
		return "must not contain a fragment (RFC 6749 §3.1.2)"
	}
	if strings.Contains(raw, "*") {
		return "must not contain a wildcard: redirect URIs are matched exactly (RFC 9700 §2.1)"
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "must be an absolute URI"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return "must name a host"
		}
		if u.User != nil {
			return "must not contain user information"
		}
		return ""
	case "http":
		if u.User != nil {
			return "must not contain user information"
		}
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			return ""
		}
		if u.Hostname() == "localhost" {
			return "must use a loopback IP address (127.0.0.1 or [::1]) instead of localhost (RFC 8252 §8.3)"
		}
		return "must use https; plain http is allowed only on a loopback IP address (RFC 8252 §7.3)"
	}
	if native && strings.Contains(u.Scheme, ".") && u.Host == "" {
		return "" // private-use URI scheme, e.g. com.example.app:/callback (RFC 8252 §7.1)
	}
	if native {
		return "must use https, http on a loopback IP address, or a private-use scheme with a reverse domain name such as com.example.app:/callback (RFC 8252 §7)"
	}
	return "must use https (or http on a loopback IP address)"
}
