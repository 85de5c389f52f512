// Package dpop makes and checks DPoP proofs (RFC 9449): the JWT a client
// signs with its own key for each HTTP request, which binds an access token
// (and a public client's refresh token) to that key so that a copied token
// is worthless without it.
//
// A [Checker] accepts a proof only when it is a compact JWS whose `typ` is
// `dpop+jwt`, whose `alg` is one of [Algorithms] (asymmetric: never `none`,
// never HMAC), whose `jwk` header is a public key only (no private or
// symmetric members) that verifies the signature, whose `htm` is the
// request's method and whose `htu` is the request's URI without query and
// fragment (RFC 9449 §4.3, both sides normalised per RFC 3986 §6.2.2–6.2.3),
// whose `iat` is within a bounded window, whose `jti` was not seen before
// (a per-process replay cache, bounded in memory, that refuses rather than
// forgets when full), and, when asked, whose `ath` is the access token's
// hash, whose key is the token's `cnf.jkt`, and whose `nonce` is one the
// server issued. [Nonces] issues nonces that change every window and that
// every holder of the same key accepts without shared state: an HMAC of the
// window's number. A [Signer] makes proofs from any crypto.Signer.
//
// The package imports no gatehouse internals: the server, [verify] and
// [client] use it alike.
package dpop
