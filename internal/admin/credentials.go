package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/remotekeys"
	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// MaxCredentials bounds a client's credentials, as Auth0 caps them (the
// token endpoint tries at most a few keys of an assertion without a kid).
const MaxCredentials = 10

// ErrCredentialInUse is DeleteCredential's answer for a credential one of
// the client's authentication methods still uses (Auth0 refuses too).
var ErrCredentialInUse = errors.New("credential in use")

// AddCredential checks in (package clientcred) and stores it as a new
// credential of the client; attach also adds it to the client's
// authentication method for its type (private_key_jwt for a public key),
// which then authenticates it, in the same write.
func (s *Service) AddCredential(ctx context.Context, clientID string, in clientcred.Input, attach bool) (storage.Credential, error) {
	existing, err := s.ListCredentials(ctx, clientID)
	if err != nil {
		return storage.Credential{}, err
	}
	if len(existing) >= MaxCredentials {
		return storage.Credential{}, invalid("client %q has %d credentials, the most allowed; remove one first", clientID, len(existing))
	}
	id, err := secret.ID(s.rand(), "cred_", 20)
	if err != nil {
		return storage.Credential{}, err
	}
	c, err := clientcred.New(clientID, id, in, s.now())
	if err != nil {
		return storage.Credential{}, invalid("%s", err.Error())
	}
	if err := s.Store.AddCredential(ctx, c, attach); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.Credential{}, describe(err, "client %q already has this public key (key ID %s)", clientID, c.KeyID)
		}
		return storage.Credential{}, notFound(err, "client", clientID)
	}
	s.record(ctx, storage.AuditCredentialAdded, clientID, credentialDetails(c))
	return c, nil
}

func credentialDetails(c storage.Credential) map[string]string {
	d := map[string]string{"credential_id": c.ID, "credential_type": c.Type}
	if c.KeyID != "" {
		d["kid"] = c.KeyID
	}
	return d
}

// ListCredentials lists a client's credentials.
func (s *Service) ListCredentials(ctx context.Context, clientID string) ([]storage.Credential, error) {
	list, err := s.Store.ListCredentials(ctx, clientID)
	return list, notFound(err, "client", clientID)
}

// GetCredential returns one of a client's credentials.
func (s *Service) GetCredential(ctx context.Context, clientID, id string) (storage.Credential, error) {
	c, err := s.Store.GetCredential(ctx, clientID, id)
	return c, notFound(err, "credential", id)
}

// CredentialPatch changes a credential: its name, and its expiry (a zero
// time: never), as Auth0's PATCH takes expires_at.
type CredentialPatch struct {
	Name      *string
	ExpiresAt *time.Time
}

// UpdateCredential applies p to a credential of the client.
func (s *Service) UpdateCredential(ctx context.Context, clientID, id string, p CredentialPatch) (storage.Credential, error) {
	c, err := s.GetCredential(ctx, clientID, id)
	if err != nil {
		return storage.Credential{}, err
	}
	name, exp := c.Name, c.ExpiresAt
	if p.Name != nil {
		name = *p.Name
	}
	if p.ExpiresAt != nil {
		exp = p.ExpiresAt.UTC()
	}
	if c.Name, err = clientcred.CheckNameAndExpiry(name, exp, s.now()); err != nil {
		return storage.Credential{}, invalid("%s", err.Error())
	}
	c.ExpiresAt, c.UpdatedAt = exp, s.now()
	if err := s.Store.UpdateCredential(ctx, c); err != nil {
		return storage.Credential{}, notFound(err, "credential", id)
	}
	s.record(ctx, storage.AuditCredentialUpdated, clientID, credentialDetails(c))
	return c, nil
}

// DeleteCredential deletes a credential of the client. One that an
// authentication method of the client still uses is refused with
// ErrCredentialInUse unless detach is set (the command line's remove),
// which takes it out of the method in the same write.
func (s *Service) DeleteCredential(ctx context.Context, clientID, id string, detach bool) error {
	c, err := s.GetCredential(ctx, clientID, id)
	if err != nil {
		return err
	}
	if !detach {
		cl, err := s.GetClient(ctx, clientID)
		if err != nil {
			return err
		}
		if cl.AuthMethods.Uses(id) {
			return describe(ErrCredentialInUse, "credential %q is in use by the client's client_authentication_methods; detach it first", id)
		}
	}
	if err := s.Store.DeleteCredential(ctx, clientID, id); err != nil {
		return notFound(err, "credential", id)
	}
	s.record(ctx, storage.AuditCredentialDeleted, clientID, credentialDetails(c))
	return nil
}

// checkAuthMethods reports what is wrong with a client's authentication
// methods and jwks_uri beside its token_endpoint_auth_method.
func checkAuthMethods(c storage.Client) []string {
	var problems []string
	if c.JWKSURI != "" {
		if err := remotekeys.CheckURL(c.JWKSURI, false); err != nil || len(c.JWKSURI) > 2000 {
			problems = append(problems, fmt.Sprintf("jwks_uri %q must be an absolute https URL of at most 2000 characters", c.JWKSURI))
		}
	}
	if (!c.AuthMethods.IsZero() || c.JWKSURI != "") && IsPublic(c.AppType) {
		problems = append(problems, fmt.Sprintf("a %s client is public: it has no credentials and no jwks_uri", c.AppType))
	}
	return problems
}
