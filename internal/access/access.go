package access

import (
	"errors"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Refusals of a person's token for an API, before any scope is looked at.
var (
	// ErrUsersDenied: the API's user policy is deny_all.
	ErrUsersDenied = errors.New("the API accepts no tokens about users")
	// ErrNoUserGrant: the API's user policy is require_client_grant and
	// the client holds no grant of subject type user for it.
	ErrNoUserGrant = errors.New("the client holds no grant for users for the API")
	// ErrClientsDenied: the API's client policy is deny_all.
	ErrClientsDenied = errors.New("the API accepts no client credentials tokens")
)

// UserPolicy returns the API's policy for people's tokens, with the stored
// default (require_client_grant) for an empty one.
func UserPolicy(api *storage.API) string {
	if api.UserPolicy == "" {
		return storage.PolicyRequireClientGrant
	}
	return api.UserPolicy
}

// ClientPolicy returns the API's policy for clients' own tokens, with the
// stored default (require_client_grant) for an empty one.
func ClientPolicy(api *storage.API) string {
	if api.ClientPolicy == "" {
		return storage.PolicyRequireClientGrant
	}
	return api.ClientPolicy
}

// UserCeiling returns the scopes of api that a person's token obtained
// through client c may carry at most, before the person's permissions:
// every scope the API defines under allow_all, the scopes of c's user
// grant that the API still defines under require_client_grant. Under
// deny_all, and without a user grant, it returns ErrUsersDenied or
// ErrNoUserGrant.
func UserCeiling(api *storage.API, c *catalog.Client) ([]string, error) {
	defined := make([]string, len(api.Scopes))
	for i, s := range api.Scopes {
		defined[i] = s.Value
	}
	switch UserPolicy(api) {
	case storage.PolicyAllowAll:
		return defined, nil
	case storage.PolicyRequireClientGrant:
		g, ok := c.UserGrant(api.Identifier)
		if !ok {
			return nil, ErrNoUserGrant
		}
		return Narrow(g.Scope, defined), nil
	default: // deny_all, and any value the store should never hold
		return nil, ErrUsersDenied
	}
}

// UserScopes returns the scopes of requested that a person's token for
// api through c may carry: those within UserCeiling and, when the API
// enforces policies, within held (the person's permissions for the API),
// in request order, each once.
func UserScopes(api *storage.API, c *catalog.Client, requested, held []string) ([]string, error) {
	ceiling, err := UserCeiling(api, c)
	if err != nil {
		return nil, err
	}
	if api.EnforcePolicies {
		return Narrow(requested, ceiling, held), nil
	}
	return Narrow(requested, ceiling), nil
}

// Narrow returns the values of requested found in every one of allowed,
// in the order of requested, each once.
func Narrow(requested []string, allowed ...[]string) []string {
	var out []string
	for _, s := range requested {
		if slices.Contains(out, s) {
			continue
		}
		in := true
		for _, a := range allowed {
			if !slices.Contains(a, s) {
				in = false
				break
			}
		}
		if in {
			out = append(out, s)
		}
	}
	return out
}
