// Package oidc serves the OpenID Connect parts around the token endpoint:
// the UserInfo endpoint (OpenID Connect Core 1.0 §5.3) and the verification
// of gatehouse's own tokens it and RP-initiated logout need.
package oidc
