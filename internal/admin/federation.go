package admin

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/federation"
	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// FederationInput describes a new federated credential
// (docs/clients-without-secrets.md).
type FederationInput struct {
	Issuer, Subject, Audience string
	Claims                    map[string]string
	MaxLifetime               time.Duration
}

// AddFederatedCredential lets the workloads whose platform tokens match in
// authenticate as the client, after checking every rule of
// federation.Check, the limit of federation.MaxCredentialsPerClient, and
// that the client holds no credential of the same issuer, subject,
// audience and claims.
func (s *Service) AddFederatedCredential(ctx context.Context, clientID string, in FederationInput) (storage.FederatedCredential, error) {
	fc := storage.FederatedCredential{
		ClientID: clientID, Issuer: in.Issuer, Subject: in.Subject, Audience: in.Audience,
		Claims: maps.Clone(in.Claims), MaxLifetime: in.MaxLifetime, CreatedAt: s.now(),
	}
	if len(fc.Claims) == 0 {
		fc.Claims = nil
	}
	if problems := federation.Check(fc); len(problems) > 0 {
		return storage.FederatedCredential{}, invalid("%s", strings.Join(problems, "; "))
	}
	existing, err := s.ListFederatedCredentials(ctx, clientID)
	if err != nil {
		return storage.FederatedCredential{}, err
	}
	if len(existing) >= federation.MaxCredentialsPerClient {
		return storage.FederatedCredential{}, invalid("the client has %d federated credentials, the most it may hold", len(existing))
	}
	for _, e := range existing {
		if e.Issuer == fc.Issuer && e.Subject == fc.Subject && e.Audience == fc.Audience && maps.Equal(e.Claims, fc.Claims) {
			return storage.FederatedCredential{}, describe(storage.ErrAlreadyExists, "the client already trusts this issuer and subject (federated credential %s)", e.ID)
		}
	}
	if fc.ID, err = secret.ID(s.rand(), "fed_", 20); err != nil {
		return storage.FederatedCredential{}, err
	}
	if err := s.Store.AddFederatedCredential(ctx, fc); err != nil {
		return storage.FederatedCredential{}, notFound(err, "client", clientID)
	}
	details := map[string]string{"credential_id": fc.ID, "issuer": fc.Issuer, "subject": fc.Subject}
	if fc.Audience != "" {
		details["audience"] = fc.Audience
	}
	if len(fc.Claims) > 0 {
		details["claims"] = fmt.Sprint(len(fc.Claims))
	}
	s.record(ctx, storage.AuditFederationAdded, clientID, details)
	return fc, nil
}

// ListFederatedCredentials lists a client's federated credentials.
func (s *Service) ListFederatedCredentials(ctx context.Context, clientID string) ([]storage.FederatedCredential, error) {
	list, err := s.Store.ListFederatedCredentials(ctx, clientID)
	return list, notFound(err, "client", clientID)
}

// RemoveFederatedCredential deletes one of a client's federated
// credentials: its workloads are refused from the next request on.
func (s *Service) RemoveFederatedCredential(ctx context.Context, clientID, id string) error {
	if err := s.Store.DeleteFederatedCredential(ctx, clientID, id); err != nil {
		return notFound(err, "federated credential", id)
	}
	s.record(ctx, storage.AuditFederationRemoved, clientID, map[string]string{"credential_id": id})
	return nil
}
