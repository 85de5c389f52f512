package discovery

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Endpoint paths (docs/reference/protocol.md).
const (
	PathToken         = "/oauth/token"
	PathJWKS          = "/.well-known/jwks.json"
	PathOpenID        = "/.well-known/openid-configuration"
	PathOAuthMetadata = "/.well-known/oauth-authorization-server"
)

// Metadata is the RFC 8414 §2 document gatehouse publishes.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	// TokenEndpointAuthSigningAlgValuesSupported lists the JWS algorithms
	// a private_key_jwt client may sign its assertions with (RFC 8414 §2).
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	// IDTokenSigningAlgValuesSupported lists the JWS algorithms gatehouse
	// signs with; OpenID clients such as go-oidc read their verifier's
	// accepted algorithms from it.
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`

	// The login flow's (OIDC Discovery §3, RFC 8414 §2, RFC 9207 §3); see
	// WithLogin.
	AuthorizationEndpoint                      string   `json:"authorization_endpoint,omitempty"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint,omitempty"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint,omitempty"`
	ResponseTypesSupported                     []string `json:"response_types_supported,omitempty"`
	ResponseModesSupported                     []string `json:"response_modes_supported,omitempty"`
	ScopesSupported                            []string `json:"scopes_supported,omitempty"`
	ClaimsSupported                            []string `json:"claims_supported,omitempty"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported,omitempty"`
	PromptValuesSupported                      []string `json:"prompt_values_supported,omitempty"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`

	// Revocation (RFC 7009) and introspection (RFC 7662); see WithRevocation.
	RevocationEndpoint                        string   `json:"revocation_endpoint,omitempty"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	IntrospectionEndpoint                     string   `json:"introspection_endpoint,omitempty"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	// RevocationEndpointAuthSigningAlgValuesSupported and
	// IntrospectionEndpointAuthSigningAlgValuesSupported are the token
	// endpoint's: both endpoints authenticate clients as it does
	// (RFC 8414 §2).
	RevocationEndpointAuthSigningAlgValuesSupported    []string `json:"revocation_endpoint_auth_signing_alg_values_supported,omitempty"`
	IntrospectionEndpointAuthSigningAlgValuesSupported []string `json:"introspection_endpoint_auth_signing_alg_values_supported,omitempty"`
	IntrospectionSigningAlgValuesSupported             []string `json:"introspection_signing_alg_values_supported,omitempty"`
}

// New returns the metadata for an issuer.
func New(issuer string, grantTypes, authMethods, algs []string) Metadata {
	base := strings.TrimRight(issuer, "/")
	return Metadata{
		Issuer:                            issuer,
		TokenEndpoint:                     base + PathToken,
		JWKSURI:                           base + PathJWKS,
		GrantTypesSupported:               grantTypes,
		TokenEndpointAuthMethodsSupported: authMethods,
		IDTokenSigningAlgValuesSupported:  algs,
		SubjectTypesSupported:             []string{"public"},
	}
}

// Handler serves m as JSON. The document is public and may be cached
// briefly and read cross-origin.
func Handler(m Metadata) http.Handler {
	body, _ := json.Marshal(m) // only strings and string slices
	body = append(body, '\n')
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(body)
	})
}
