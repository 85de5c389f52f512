package verify

import "errors"

// The reasons a token is refused. [Verifier.Verify] returns errors that
// wrap exactly one of them (test with errors.Is); each one's text is the
// error_description the middleware sends (RFC 6750 §3).
var (
	ErrMalformed      = errors.New("the access token is malformed")
	ErrTooLarge       = errors.New("the access token is too large")
	ErrAlgorithm      = errors.New("the access token is signed with an algorithm that is not allowed")
	ErrType           = errors.New("the token is not an access token of an accepted type")
	ErrUnknownKey     = errors.New("the access token is signed with an unknown key")
	ErrSignature      = errors.New("the access token signature is invalid")
	ErrExpired        = errors.New("the access token expired")
	ErrNotYetValid    = errors.New("the access token is not valid yet")
	ErrIssuedInFuture = errors.New("the access token is issued in the future")
	ErrIssuer         = errors.New("the access token is from another issuer")
	ErrAudience       = errors.New("the access token is for another audience")
	// ErrSubject: the token is about a kind of subject (a client or a
	// user) that [Config].Subject does not accept.
	ErrSubject = errors.New("the access token is about a kind of subject this API does not accept")
	// ErrKeysUnavailable means the issuer's keys could not be fetched: the
	// token was not judged. The middleware answers 503.
	ErrKeysUnavailable = errors.New("the keys to verify the access token are unavailable")
	// ErrRevoked: in introspection mode, the issuer says the token is not
	// active (revoked, or its client disabled) although it verifies.
	ErrRevoked = errors.New("the access token is not active")
	// ErrIntrospectionUnavailable means, in introspection mode, that the
	// issuer could not be asked whether the token is active: it was not
	// judged. The middleware answers 503.
	ErrIntrospectionUnavailable = errors.New("the issuer could not say whether the access token is active")
)

// reasons are the refusals, in the order the middleware matches them.
var reasons = []error{
	ErrKeysUnavailable, ErrIntrospectionUnavailable, ErrRevoked, ErrTooLarge, ErrAlgorithm, ErrType, ErrUnknownKey, ErrSignature,
	ErrExpired, ErrNotYetValid, ErrIssuedInFuture, ErrIssuer, ErrAudience, ErrSubject, ErrMalformed,
}

// reason returns the sentinel err wraps; ErrMalformed if none.
func reason(err error) error {
	for _, r := range reasons {
		if errors.Is(err, r) {
			return r
		}
	}
	return ErrMalformed
}
