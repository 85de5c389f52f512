// Package verify checks gatehouse's JWT access tokens in an API (a resource
// server) and offers net/http middleware that answers as RFC 6750 §3 says.
//
// A [Verifier] accepts a token only when its JWS signature (RFC 7515) is
// valid under a key of the issuer's JWKS (RFC 7517) chosen by `kid` and
// `alg`, the algorithm is on an explicit list of asymmetric algorithms
// (never `none`, never HMAC, so a token "signed" with a public key as an
// HMAC secret cannot pass), its `typ` is accepted (RFC 9068 §4: `at+jwt`;
// the `auth0` dialect's `JWT` when configured), `iss` equals the issuer
// exactly, `aud` contains the API's identifier, and `exp`, `nbf` and `iat`
// (RFC 7519 §4.1) hold with a small bounded leeway. Tokens over a size limit
// are refused before they are parsed.
//
// The keys come from the issuer's JWKS, found through its metadata
// (RFC 8414 §3) or given directly. The key set is cached as long as the
// response's Cache-Control max-age says (RFC 9111 §5.2.2.1), less the Age
// a cache in between held it (§4.2.3), down to a floor of one second
// against a zero and up to a day; a token signed with
// an unknown `kid` triggers one refetch, shared by every concurrent caller
// and rate limited to one a second, so that a rotated key is picked up
// however fast the issuer rotates and a flood of forged `kid`s costs the
// issuer one request a second. An optional bounded cache remembers
// tokens already verified (keyed by their SHA-256) until they expire.
//
// [Verifier.Middleware] and [Verifier.Require] protect handlers: no token
// is 401 with `WWW-Authenticate: Bearer realm="…"`; an invalid or expired
// one is 401 `error="invalid_token"` with an error_description that says why
// and a JSON body `{"error","error_description"}`; a token without a
// required scope is 403 `error="insufficient_scope"` with `scope="…"`. The
// handler finds the claims with [ClaimsFromContext].
//
// A DPoP-bound token (RFC 9449: `cnf.jkt`) is accepted only with the DPoP
// scheme and a proof ([Verifier.VerifyDPoP], [Verifier.VerifyRequest], and
// the middleware): the proof's `htm` and `htu` must be this request's,
// `ath` this token's hash, its key the one the token is bound to, its
// `iat` recent, and its `jti` new to this Verifier (a bounded replay cache
// per Verifier); nonces are optional ([DPoPConfig]). Such a token presented
// as a bearer token, or to Verify alone, is refused with ErrDPoPBound. The
// middleware answers as RFC 9449 §7.1 says: `WWW-Authenticate: DPoP
// algs="…", error="invalid_dpop_proof"` (or `invalid_token`,
// `use_dpop_nonce` with a DPoP-Nonce header), and a request without a
// token gets both a Bearer and a DPoP challenge. Proofs are checked by
// package dpop; bearer tokens cost nothing more than before.
//
// A token bound to the client's TLS certificate (`cnf.x5t#S256`, RFC 8705
// §3) is accepted by [Verifier.VerifyRequest] and the middleware only when
// the request presents that certificate: on its TLS connection, or in the
// header of a trusted reverse proxy ([CertificateSource]: Envoy's
// X-Forwarded-Client-Cert or a URL-encoded PEM as nginx sends it, believed
// only from the configured proxy addresses). [Verifier.Verify] and
// [Verifier.VerifyDPoP] do not see the request's certificate, so they refuse
// such a token (ErrCertificate) rather than take it as a bearer token.
//
// Options that weaken security are named Insecure*. Errors never contain the
// token.
package verify
