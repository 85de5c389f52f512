package mgmt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func (v FederatedCredential) credential() storage.FederatedCredential {
	claims := v.Claims
	if len(claims) == 0 {
		claims = nil
	}
	return storage.FederatedCredential{ID: v.ID, ClientID: v.ClientID, Issuer: v.Issuer, Subject: v.Subject, Audience: v.Audience,
		Claims: claims, MaxLifetime: time.Duration(v.MaxLifetime) * time.Second, CreatedAt: parseTS(v.CreatedAt)}
}

func federatedPath(id string) string {
	return "/api/v2/clients/" + url.PathEscape(id) + "/federated-credentials"
}

// AddFederatedCredential trusts a platform issuer's workload tokens for the
// client.
func (m *Remote) AddFederatedCredential(ctx context.Context, id string, in admin.FederationInput) (storage.FederatedCredential, error) {
	if in.MaxLifetime%time.Second != 0 {
		return storage.FederatedCredential{}, remoteInvalid("the max lifetime must be whole seconds")
	}
	body := map[string]any{"issuer": in.Issuer, "subject": in.Subject}
	if in.Audience != "" {
		body["audience"] = in.Audience
	}
	if len(in.Claims) > 0 {
		body["claims"] = in.Claims
	}
	if in.MaxLifetime != 0 {
		body["max_lifetime"] = int64(in.MaxLifetime / time.Second)
	}
	var v FederatedCredential
	if err := m.do(ctx, http.MethodPost, federatedPath(id), nil, body, &v); err != nil {
		return storage.FederatedCredential{}, err
	}
	return v.credential(), nil
}

// ListFederatedCredentials lists a client's federated credentials.
func (m *Remote) ListFederatedCredentials(ctx context.Context, id string) ([]storage.FederatedCredential, error) {
	l, err := all[FederatedCredential](ctx, m, federatedPath(id), nil)
	return convert(l, err, FederatedCredential.credential)
}

// RemoveFederatedCredential deletes one; like the local one it fails for a
// missing credential.
func (m *Remote) RemoveFederatedCredential(ctx context.Context, id, credentialID string) error {
	var v FederatedCredential
	err := m.do(ctx, http.MethodGet, federatedPath(id)+"/"+url.PathEscape(credentialID), nil, nil, &v)
	if errors.Is(err, storage.ErrNotFound) {
		return &RemoteError{Status: http.StatusNotFound, Code: codeInexistentFederated, Message: fmt.Sprintf("federated credential %q not found", credentialID)}
	}
	if err != nil {
		return err
	}
	return m.do(ctx, http.MethodDelete, federatedPath(id)+"/"+url.PathEscape(credentialID), nil, nil, nil)
}
