package discovery

import (
	"maps"
	"slices"
	"strings"
)

// WithMTLS returns m for a server that sees clients' TLS certificates
// (RFC 8705): tls_client_certificate_bound_access_tokens (§3.3), the
// client authentication methods given (§2.1.1, §2.2.1), and, when
// aliasBase is set, the token endpoint's mutual-TLS alias under it (§5),
// plus the aliases already in m (other endpoints' under the same base).
func WithMTLS(m Metadata, aliasBase string, authMethods []string) Metadata {
	m.TLSClientCertificateBoundAccessTokens = true
	for _, a := range authMethods {
		if !slices.Contains(m.TokenEndpointAuthMethodsSupported, a) {
			m.TokenEndpointAuthMethodsSupported = append(slices.Clone(m.TokenEndpointAuthMethodsSupported), a)
		}
	}
	if aliasBase != "" {
		aliases := maps.Clone(m.MTLSEndpointAliases)
		if aliases == nil {
			aliases = map[string]string{}
		}
		aliases["token_endpoint"] = strings.TrimRight(aliasBase, "/") + PathToken
		m.MTLSEndpointAliases = aliases
	}
	return m
}
