package token

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Authenticate is the token endpoint's one client-authentication step
// (RFC 6749 §2.3.1) for the endpoints beside it that clients authenticate
// to the same way: revocation (RFC 7009 §2.1) and introspection (RFC 7662
// §2.1). It is the very step a token request goes through, with the same
// brute-force throttle, timing, metrics and audit of failures; it returns
// the client and the snapshot it was found in. With public set, a public
// client (token_endpoint_auth_method none) may name itself by its
// client_id alone, as it does for its refresh tokens (RFC 7009 §2.1: a
// public client may revoke its own tokens).
func (e *Endpoint) Authenticate(r *http.Request, req *oauth.TokenRequest, public bool) (*catalog.Client, *catalog.Snapshot, error) {
	snap := e.cfg.Catalog.Snapshot()
	if public {
		// publicClient admits public clients for the login grants only.
		asLogin := oauth.TokenRequest{GrantType: storage.GrantRefreshToken, ClientID: req.ClientID, ClientSecret: req.ClientSecret, AuthMethod: req.AuthMethod}
		if c, ok := publicClient(snap, &asLogin); ok {
			return c, snap, nil
		}
	}
	c, err := e.authenticate(r, snap, req, e.cfg.Now())
	if err != nil {
		return nil, nil, err
	}
	return c, snap, nil
}

// Denylist says whether an access token was revoked (package revocation):
// by its jti, or as one of its client's or subject's tokens issued at or
// before a revocation.
type Denylist interface {
	Revoked(jti, clientID, subject string, iat int64) bool
}
