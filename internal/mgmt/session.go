package mgmt

import "context"

// Principal is who an authorized token acts as: a client with its own
// token, or a person (UserID) through a client.
type Principal struct {
	ClientID string
	UserID   string
}

// AuthorizeToken checks an access token for the management API exactly as
// a request's Bearer token is checked for an operation that needs scope
// (signature, issuer, audience, expiry, the client still enabled, the
// scope in the token and, for a person, held as a permission now), for
// callers in this process that act with a person's token instead of
// sending it over HTTP: the admin console. It returns ctx naming the
// caller for the audit trail, as the API's own operations get it, and the
// caller; a refusal is an *Error whose Status is 401 or 403.
func (h *Handler) AuthorizeToken(ctx context.Context, token, scope string) (context.Context, Principal, error) {
	who, err := h.auth.check(ctx, token, scope)
	if err != nil {
		return ctx, Principal{}, err
	}
	return who.context(ctx), Principal(who), nil
}
