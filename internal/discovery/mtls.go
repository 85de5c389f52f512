package discovery

import (
	"maps"
	"slices"
	"strings"
)

// WithMTLS returns m for a server that sees clients' TLS certificates
// (RFC 8705): tls_client_certificate_bound_access_tokens (§3.3), the
// client authentication methods given (§2.1.1, §2.2.1) for the token
// endpoint and the revocation and introspection endpoints m has (they
// authenticate clients as it does), and, when aliasBase is set, the
// mutual-TLS aliases of those endpoints under it (§5).
func WithMTLS(m Metadata, aliasBase string, authMethods []string) Metadata {
	m.TLSClientCertificateBoundAccessTokens = true
	m.TokenEndpointAuthMethodsSupported = addAll(m.TokenEndpointAuthMethodsSupported, authMethods)
	if m.RevocationEndpoint != "" {
		m.RevocationEndpointAuthMethodsSupported = addAll(m.RevocationEndpointAuthMethodsSupported, authMethods)
	}
	if m.IntrospectionEndpoint != "" {
		m.IntrospectionEndpointAuthMethodsSupported = addAll(m.IntrospectionEndpointAuthMethodsSupported, authMethods)
	}
	if aliasBase != "" {
		aliases := maps.Clone(m.MTLSEndpointAliases)
		if aliases == nil {
			aliases = map[string]string{}
		}
		base := strings.TrimRight(aliasBase, "/")
		aliases["token_endpoint"] = base + PathToken
		if m.RevocationEndpoint != "" {
			aliases["revocation_endpoint"] = base + PathRevoke
		}
		if m.IntrospectionEndpoint != "" {
			aliases["introspection_endpoint"] = base + PathIntrospect
		}
		m.MTLSEndpointAliases = aliases
	}
	return m
}

// addAll returns list with the values it lacks appended, never changing
// list's array.
func addAll(list, values []string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(slices.Clip(list), v)
		}
	}
	return list
}
