package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// UserinfoTokenLifetime is the lifetime of a person's access token for
// /userinfo alone (token.DefaultUserinfoLifetime): a revocation of every
// token of a client or user lasts at least that long.
const UserinfoTokenLifetime = time.Hour

// RevokedTokens says what RevokeClientTokens or RevokeUserTokens revoked:
// every access token of the client or user issued at or before Before
// (to the second), until ExpiresAt, when the last of them has expired,
// and how many refresh token families.
type RevokedTokens struct {
	Kind            string // storage.RevokeClient or storage.RevokeSubject
	ID              string // the client or user ID
	Before          time.Time
	ExpiresAt       time.Time
	RefreshFamilies int64
}

// RevokeClientTokens revokes every token of a client (RFC 7009 in bulk):
// its refresh token families, and every access token whose client_id it
// is, issued at or before now, through a denylist entry that the
// introspection endpoint and every instance honour (docs/revocation.md).
// Tokens issued after it are good. It does not disable the client.
func (s *Service) RevokeClientTokens(ctx context.Context, clientID string) (RevokedTokens, error) {
	if _, err := s.GetClient(ctx, clientID); err != nil {
		return RevokedTokens{}, err
	}
	return s.revokeAll(ctx, storage.RevokeClient, clientID)
}

// RevokeUserTokens revokes every token about a user (ref is an ID or an
// email address): the user's refresh token families and every access
// token whose sub is the user, issued at or before now, as
// RevokeClientTokens does. The user's login sessions stay.
func (s *Service) RevokeUserTokens(ctx context.Context, ref string) (RevokedTokens, error) {
	u, err := s.GetUser(ctx, ref)
	if err != nil {
		return RevokedTokens{}, err
	}
	return s.revokeAll(ctx, storage.RevokeSubject, u.UserID)
}

func (s *Service) revokeAll(ctx context.Context, kind, id string) (RevokedTokens, error) {
	now := s.now()
	longest, err := s.longestLifetime(ctx)
	if err != nil {
		return RevokedTokens{}, err
	}
	out := RevokedTokens{Kind: kind, ID: id, Before: now.Truncate(time.Second), ExpiresAt: now.Add(longest + time.Second).Truncate(time.Second)}
	clientID, userID := id, ""
	if kind == storage.RevokeSubject {
		clientID, userID = "", id
	}
	if out.RefreshFamilies, err = s.Store.RevokeRefreshFamilies(ctx, clientID, userID, now); err != nil {
		return RevokedTokens{}, err
	}
	if err := s.Store.Revoke(ctx, storage.Revocation{Kind: kind, Value: id, Before: out.Before, ExpiresAt: out.ExpiresAt}); err != nil {
		return RevokedTokens{}, err
	}
	s.record(ctx, storage.AuditTokensRevoked, id, map[string]string{"kind": kind, "before": out.Before.Format(time.RFC3339),
		"refresh_families": strconv.FormatInt(out.RefreshFamilies, 10)})
	return out, nil
}

// longestLifetime is the longest an access token issued now may live: the
// longest API token lifetime, or a /userinfo token's.
func (s *Service) longestLifetime(ctx context.Context) (time.Duration, error) {
	apis, err := s.Store.ListAPIs(ctx)
	if err != nil {
		return 0, fmt.Errorf("list apis: %w", err)
	}
	longest := UserinfoTokenLifetime
	for _, a := range apis {
		longest = max(longest, a.TokenLifetime)
	}
	return longest, nil
}

// AddIntrospector lets a client (a resource server) introspect the tokens
// of an API at /oauth/introspect (RFC 7662 §2.1).
func (s *Service) AddIntrospector(ctx context.Context, audience, clientID string) (storage.Introspector, error) {
	if _, err := s.GetAPI(ctx, audience); err != nil {
		return storage.Introspector{}, err
	}
	c, err := s.GetClient(ctx, clientID)
	if err != nil {
		return storage.Introspector{}, err
	}
	if c.TokenEndpointAuthMethod == storage.AuthMethodNone {
		return storage.Introspector{}, invalid("client %q is public (token_endpoint_auth_method none): only a client that authenticates may introspect", clientID)
	}
	in := storage.Introspector{Audience: audience, ClientID: clientID, CreatedAt: s.now()}
	if err := s.Store.AddIntrospector(ctx, in); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.Introspector{}, describe(err, "client %q may already introspect the tokens of %q", clientID, audience)
		}
		return storage.Introspector{}, notFound(err, "API or client", audience+" / "+clientID)
	}
	s.record(ctx, storage.AuditIntrospectorAdded, clientID, map[string]string{"audience": audience})
	return in, nil
}

// RemoveIntrospector takes a client's right to introspect an API's tokens back.
func (s *Service) RemoveIntrospector(ctx context.Context, audience, clientID string) error {
	if err := s.Store.RemoveIntrospector(ctx, audience, clientID); err != nil {
		return notFound(err, "introspection client", clientID+" of "+audience)
	}
	s.record(ctx, storage.AuditIntrospectorRemoved, clientID, map[string]string{"audience": audience})
	return nil
}

// ListIntrospectors returns the clients that may introspect an API's tokens.
func (s *Service) ListIntrospectors(ctx context.Context, audience string) ([]storage.Introspector, error) {
	if _, err := s.GetAPI(ctx, audience); err != nil {
		return nil, err
	}
	return s.Store.ListIntrospectors(ctx, audience)
}
