// Package clientip decides which address a request came from. The direct
// peer is the answer unless it is a configured trusted proxy; then the
// X-Forwarded-For header is read from the right, and the first hop that is
// not a trusted proxy is the client (RFC 7239 §5.2 describes the same chain
// for Forwarded; X-Forwarded-For is its de facto predecessor). Values to the
// left of that hop were written by the client itself and are never believed.
//
// Middleware stores the answer in the request context, where the token
// endpoint's throttling, audit events and the access log read it with
// FromRequest.
package clientip
