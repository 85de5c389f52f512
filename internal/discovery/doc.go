// Package discovery serves the authorization server metadata document (RFC
// 8414 §2) at both /.well-known/oauth-authorization-server and
// /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §3). The
// issuer is the configured string verbatim (RFC 8414 §3.3: a client compares
// it exactly); endpoint URLs are the issuer without a trailing slash plus the
// endpoint path.
package discovery
