package discovery

import (
	"slices"
	"strings"
)

// Paths of the login flow's endpoints.
const (
	PathAuthorize = "/authorize"
	PathUserinfo  = "/userinfo"
	PathLogout    = "/oidc/logout"
)

// WithLogin returns m with the Authorization Code flow's metadata (OIDC
// Discovery §3, RFC 8414 §2): the authorization, userinfo and end-session
// endpoints, response_type code only, PKCE S256 only (RFC 7636 §4.3), the
// iss authorization response parameter (RFC 9207 §3), the public clients'
// token endpoint auth method none, and the scopes given (openid first).
func WithLogin(m Metadata, grantTypes, scopes []string) Metadata {
	base := strings.TrimRight(m.Issuer, "/")
	m.AuthorizationEndpoint = base + PathAuthorize
	m.UserinfoEndpoint = base + PathUserinfo
	m.EndSessionEndpoint = base + PathLogout
	m.ResponseTypesSupported = []string{"code"}
	m.ResponseModesSupported = []string{"query"}
	m.CodeChallengeMethodsSupported = []string{"S256"}
	m.PromptValuesSupported = []string{"none", "login", "consent"}
	m.AuthorizationResponseISSParameterSupported = true
	m.ScopesSupported = slices.Clone(scopes)
	m.ClaimsSupported = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "name", "email", "email_verified"}
	for _, g := range grantTypes {
		if !slices.Contains(m.GrantTypesSupported, g) {
			m.GrantTypesSupported = append(slices.Clone(m.GrantTypesSupported), g)
		}
	}
	if !slices.Contains(m.TokenEndpointAuthMethodsSupported, "none") {
		m.TokenEndpointAuthMethodsSupported = append(slices.Clone(m.TokenEndpointAuthMethodsSupported), "none")
	}
	return m
}
