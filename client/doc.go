// Package client is gatehouse's Go token source for machine-to-machine
// clients: it obtains OAuth 2.0 access tokens with the Client Credentials
// grant (RFC 6749 §4.4) and keeps them, so that a service writes none of the
// token handling by hand.
//
// A [Source] discovers the token endpoint from the issuer's metadata
// (RFC 8414 §3, OpenID Connect Discovery) or takes it directly; sends
// `audience` (Auth0) or `resource` (RFC 8707) and `scope`; authenticates with
// client_secret_post or client_secret_basic (RFC 6749 §2.3.1). It caches the
// token and refreshes it a margin before it expires, with jitter so that a
// fleet of clients does not stampede; concurrent callers share one request;
// a token that is still valid keeps being served while a refresh fails.
//
// A Source holds several secrets: it uses the one that last worked and falls
// back to the next one when the server answers invalid_client, and remembers
// the winner, so a client rides through a secret rotation without a restart.
// Network errors, 5xx and 429 answers are retried with capped exponential
// backoff that honours Retry-After (RFC 9110 §10.2.3); invalid_client (once
// every secret has been tried), invalid_scope, access_denied and
// invalid_target end the request at once with an [*Error] (RFC 6749 §5.2).
//
// A Source is an [golang.org/x/oauth2.TokenSource]; [Transport] and
// [Source.Client] add the token to outgoing requests as a Bearer token
// (RFC 6750 §2.1) and, when the API answers 401 with error="invalid_token"
// (RFC 6750 §3.1), retry the request once with a fresh token.
//
// [Config].Certificate presents a TLS client certificate on the token
// requests (RFC 8705): to authenticate with it alone ([AuthTLS],
// [AuthSelfSignedTLS]) or to get tokens bound to it; the issuer's
// mtls_endpoint_aliases token endpoint is used when it has one. Present the
// same certificate to the API (an http.Transport with it in
// TLSClientConfig.Certificates).
//
// The package never logs, and never puts a secret or a token in an error.
package client
