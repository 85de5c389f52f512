package revocation

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// Revoke serves POST /oauth/revoke (RFC 7009 §2). The client authenticates
// as at the token endpoint (a public client by its client_id); it may
// revoke only tokens issued to it (§2.1: another client's token is
// refused with unauthorized_client and left as it is). A refresh token
// revokes its whole family; an access token goes on the denylist by its
// jti until it expires. An unknown, malformed, expired or already revoked
// token is answered 200 as a revoked one (§2.2).
func (e *Endpoints) Revoke(w http.ResponseWriter, r *http.Request) {
	if err := e.revoke(r); err != nil {
		oauth.WriteError(w, e.cfg.Logger, err)
		return
	}
	oauth.SetNoStore(w.Header())
	w.WriteHeader(http.StatusOK)
}

func (e *Endpoints) revoke(r *http.Request) error {
	req, client, _, err := e.request(r, true)
	if err != nil {
		return err
	}
	now := e.cfg.Now()
	if looksLikeJWT(req.Token) {
		return e.revokeAccess(r, client, req.Token, now)
	}
	return e.revokeRefresh(r, client, req.Token, now)
}

// revokeAccess puts an access token of client on the denylist until it
// expires, here at once and on every other instance through the change
// feed.
func (e *Endpoints) revokeAccess(r *http.Request, client *catalog.Client, tok string, now time.Time) error {
	c, payload, ok := e.accessClaims(tok)
	if !ok {
		return nil // not a token of ours: nothing to revoke
	}
	if clientOf(c) != client.ClientID {
		return notYours()
	}
	jti := jtiOf(payload)
	if jti == "" || now.Unix() >= c.Expiry {
		return nil // expired: revoked already, in effect
	}
	rev := storage.Revocation{Kind: storage.RevokeToken, Value: jti, Before: now, ExpiresAt: time.Unix(c.Expiry, 0)}
	if err := e.cfg.Store.Revoke(r.Context(), rev); err != nil {
		return oauth.ServerError(err)
	}
	e.cfg.Denylist.Add(rev)
	e.audit(r, client.ClientID, c.Subject, map[string]string{"token_type": HintAccessToken, "jti": jti}, now)
	return nil
}

// revokeRefresh revokes the family of a refresh token of client.
func (e *Endpoints) revokeRefresh(r *http.Request, client *catalog.Client, tok string, now time.Time) error {
	_, fam, err := e.cfg.Store.GetRefreshToken(r.Context(), token.Digest(tok))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return oauth.ServerError(err)
	case fam.ClientID != client.ClientID:
		return notYours()
	case !fam.RevokedAt.IsZero():
		return nil
	}
	if err := e.cfg.Store.RevokeRefreshFamily(r.Context(), fam.ID, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return oauth.ServerError(err)
	}
	e.audit(r, client.ClientID, fam.UserID, map[string]string{"token_type": HintRefreshToken, "family_id": fam.ID}, now)
	return nil
}

func (e *Endpoints) audit(r *http.Request, clientID, subject string, details map[string]string, now time.Time) {
	if e.cfg.Audit == nil {
		return
	}
	if subject == "" {
		subject = clientID
	}
	_ = e.cfg.Audit.Audit(r.Context(), storage.AuditEvent{Time: now, Actor: clientID, Action: storage.AuditTokenRevoked, Target: subject,
		Outcome: storage.OutcomeSuccess, Details: details})
}
