package discovery

import (
	"slices"
	"strings"
)

// Paths of the revocation (RFC 7009) and introspection (RFC 7662) endpoints.
const (
	PathRevoke     = "/oauth/revoke"
	PathIntrospect = "/oauth/introspect"
)

// WithRevocation returns m with the revocation and introspection endpoints
// and the client authentication methods each accepts (RFC 8414 §2): the
// token endpoint's for revocation (a public client names itself, "none"),
// the same without "none" for introspection, whose callers are resource
// servers authenticated as confidential clients; and the algorithms of
// the JWT introspection answers (RFC 9701 §7).
func WithRevocation(m Metadata, introspectionAlgs []string) Metadata {
	base := strings.TrimRight(m.Issuer, "/")
	m.RevocationEndpoint = base + PathRevoke
	m.IntrospectionEndpoint = base + PathIntrospect
	m.RevocationEndpointAuthMethodsSupported = slices.Clone(m.TokenEndpointAuthMethodsSupported)
	if !slices.Contains(m.RevocationEndpointAuthMethodsSupported, "none") {
		m.RevocationEndpointAuthMethodsSupported = append(m.RevocationEndpointAuthMethodsSupported, "none")
	}
	m.IntrospectionEndpointAuthMethodsSupported = slices.DeleteFunc(slices.Clone(m.TokenEndpointAuthMethodsSupported),
		func(s string) bool { return s == "none" })
	m.RevocationEndpointAuthSigningAlgValuesSupported = slices.Clone(m.TokenEndpointAuthSigningAlgValuesSupported)
	m.IntrospectionEndpointAuthSigningAlgValuesSupported = slices.Clone(m.TokenEndpointAuthSigningAlgValuesSupported)
	m.IntrospectionSigningAlgValuesSupported = slices.Clone(introspectionAlgs)
	return m
}
