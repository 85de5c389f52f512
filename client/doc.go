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
// Instead of a secret, a Source can hold the client's private key
// ([Config.PrivateKey], any crypto.Signer, or [Config.PrivateKeyFile]) and
// authenticate with private_key_jwt (RFC 7523 §2.2, OpenID Connect Core §9):
// each token request carries a new assertion, signed with the key, whose
// aud is the issuer (draft-ietf-oauth-rfc7523bis) and whose jti is random;
// no secret exists to leak. The cache, early refresh and single flight are
// the same.
//
// A Source holds several secrets: it uses the one that last worked and falls
// back to the next one when the server answers invalid_client, and remembers
// the winner, so a client rides through a secret rotation without a restart.
// Network errors, 5xx and 429 answers are retried with capped exponential
// backoff that honours Retry-After (RFC 9110 §10.2.3); invalid_client (once
// every secret has been tried), invalid_scope, access_denied and
// invalid_target end the request at once with an [*Error] (RFC 6749 §5.2).
//
// A workload with a federated credential holds no secret at all: it
// authenticates with the token its platform gives it, sent as an RFC 7523
// §2.2 client_assertion. [Config.AssertionFile] names a file the platform
// keeps current (a Kubernetes projected service-account token), read again
// at every fetch; [Config.Assertion] is a function asked at every fetch
// ([GitHubActionsToken] asks the GitHub Actions runtime). Caching, early
// refresh and single flight are the same.
//
// A Source is an [golang.org/x/oauth2.TokenSource]; [Transport] and
// [Source.Client] add the token to outgoing requests as a Bearer token
// (RFC 6750 §2.1) and, when the API answers 401 with error="invalid_token"
// (RFC 6750 §3.1), retry the request once with a fresh token.
//
// With [Config].DPoPKey (any crypto.Signer) the tokens are sender-constrained
// (RFC 9449): every token request carries a DPoP proof signed with the key,
// the token must come back as token_type DPoP, and [Transport] sends it with
// the DPoP scheme and a proof of the request (htm, htu, and ath, the hash of
// the token), so that a stolen token is useless without the key. A server's
// DPoP-Nonce is kept per server, and a request it answers with
// use_dpop_nonce is sent once more with the nonce. Use the Transport (or
// [Source.Client]) to call APIs then: an oauth2.Transport would send the
// token without a proof.
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
