package mgmt

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func (v RevokedTokens) revoked() admin.RevokedTokens {
	out := admin.RevokedTokens{Kind: storage.RevokeClient, ID: v.ClientID, RefreshFamilies: v.RefreshFamilies}
	if v.UserID != "" {
		out.Kind, out.ID = storage.RevokeSubject, v.UserID
	}
	out.Before = parseTS(&v.RevokedBefore)
	out.ExpiresAt = parseTS(&v.ExpiresAt)
	return out
}

// RevokeClientTokens revokes every token of a client.
func (m *Remote) RevokeClientTokens(ctx context.Context, id string) (admin.RevokedTokens, error) {
	var v RevokedTokens
	if err := m.do(ctx, http.MethodPost, "/api/v2/clients/"+url.PathEscape(id)+"/revoke-tokens", nil, nil, &v); err != nil {
		return admin.RevokedTokens{}, err
	}
	return v.revoked(), nil
}

func introspectorsPath(audience string) string {
	return "/api/v2/resource-servers/" + url.PathEscape(audience) + "/introspection-clients"
}

// AddIntrospector lets a client introspect an API's tokens.
func (m *Remote) AddIntrospector(ctx context.Context, audience, clientID string) (storage.Introspector, error) {
	if err := m.do(ctx, http.MethodPost, introspectorsPath(audience), nil, map[string]any{"clients": []string{clientID}}, nil); err != nil {
		return storage.Introspector{}, err
	}
	return storage.Introspector{Audience: audience, ClientID: clientID, CreatedAt: time.Now().UTC()}, nil
}

// RemoveIntrospector takes a client's right to introspect an API's tokens back.
func (m *Remote) RemoveIntrospector(ctx context.Context, audience, clientID string) error {
	return m.do(ctx, http.MethodDelete, introspectorsPath(audience), nil, map[string]any{"clients": []string{clientID}}, nil)
}

// ListIntrospectors lists the clients that may introspect an API's tokens.
func (m *Remote) ListIntrospectors(ctx context.Context, audience string) ([]storage.Introspector, error) {
	l, err := all[IntrospectionClient](ctx, m, introspectorsPath(audience), nil)
	return convert(l, err, func(v IntrospectionClient) storage.Introspector {
		return storage.Introspector{Audience: audience, ClientID: v.ClientID, CreatedAt: parseTS(v.CreatedAt)}
	})
}
