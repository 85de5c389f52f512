// Package authorize serves the authorization endpoint of the Authorization
// Code flow with PKCE (RFC 6749 §4.1, RFC 7636, OAuth 2.1, RFC 9700) and
// OpenID Connect Core §3.1.2: GET and POST /authorize, the hosted login and
// consent pages, and the login session behind them.
//
// Sessions are kept server-side (storage.LoginSession): the cookie holds
// 256 random bits and the store only their SHA-256 digest, so a session
// ends everywhere at once on logout or when its user is disabled, works
// across instances sharing one database, and needs no cookie encryption
// key to manage or rotate.
package authorize
