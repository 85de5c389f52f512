// Package oauth holds the RFC 6749 vocabulary shared by gatehouse's
// endpoints: the protocol Error value and its constructors (RFC 6749 §5.2),
// the writer that turns any error into an RFC-shaped JSON response, and the
// strict parser of token requests (form or JSON body, RFC 6749 §3.2 and
// Auth0's JSON form) together with the client credentials they carry (HTTP
// Basic per RFC 6749 §2.3.1, or client_secret_post).
package oauth
