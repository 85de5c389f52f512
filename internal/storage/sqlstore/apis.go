package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const apiColumns = "identifier, name, scopes, token_lifetime, signing_alg, token_dialect, allow_offline_access, token_reuse, " +
	"user_policy, client_policy, enforce_policies, extras, created_at, pop_mechanism, pop_required, pop_required_for"

// policy is the stored form of an access policy: "" is the default,
// require_client_grant.
func policy(p string) string {
	if p == "" {
		return storage.PolicyRequireClientGrant
	}
	return p
}

// CreateAPI stores a new API; storage.ErrAlreadyExists if the identifier is
// taken. The token lifetime is stored in whole seconds, the scopes as a
// JSON array.
func (s *Store) CreateAPI(ctx context.Context, api storage.API) error {
	scopes, err := jsonList(api.Scopes)
	if err != nil {
		return fmt.Errorf("create api %q: encode scopes: %w", api.Identifier, err)
	}
	extras, err := jsonObject(api.Extras)
	if err != nil {
		return fmt.Errorf("create api %q: encode extras: %w", api.Identifier, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO apis ("+apiColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
			api.Identifier, api.Name, scopes, int64(api.TokenLifetime/time.Second), api.SigningAlg, api.TokenDialect,
			api.AllowOfflineAccess, api.TokenReuse, policy(api.UserPolicy), policy(api.ClientPolicy), api.EnforcePolicies,
			extras, s.f.Time(api.CreatedAt), api.ProofOfPossession.Mechanism, api.ProofOfPossession.Required,
			api.ProofOfPossession.RequiredFor); err != nil {
			return s.translate(err)
		}
		return s.appendChange(ctx, tx, storage.EntityAPI, api.Identifier)
	})
	if err != nil {
		return fmt.Errorf("create api %q: %w", api.Identifier, err)
	}
	return nil
}

// GetAPI returns the API with that identifier or storage.ErrNotFound.
func (s *Store) GetAPI(ctx context.Context, identifier string) (storage.API, error) {
	return selectOne(ctx, s, fmt.Sprintf("get api %q", identifier), scanAPI,
		"SELECT "+apiColumns+" FROM apis WHERE identifier = $1", identifier)
}

// ListAPIs returns every API ordered by identifier (byte order).
func (s *Store) ListAPIs(ctx context.Context) ([]storage.API, error) {
	return selectAll(ctx, s, "list apis", scanAPI, "SELECT "+apiColumns+" FROM apis ORDER BY identifier")
}

// UpdateAPI replaces every field of the API but its identifier and
// creation time, or returns storage.ErrNotFound. In the same transaction
// it removes the scopes the API no longer defines from its grants, and
// records a change of each client whose grant lost one.
func (s *Store) UpdateAPI(ctx context.Context, api storage.API) error {
	scopes, err := jsonList(api.Scopes)
	if err != nil {
		return fmt.Errorf("update api %q: encode scopes: %w", api.Identifier, err)
	}
	extras, err := jsonObject(api.Extras)
	if err != nil {
		return fmt.Errorf("update api %q: encode extras: %w", api.Identifier, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `UPDATE apis SET name = $1, scopes = $2, token_lifetime = $3, signing_alg = $4,
			token_dialect = $5, allow_offline_access = $6, token_reuse = $7, user_policy = $8, client_policy = $9,
			enforce_policies = $10, extras = $11, pop_mechanism = $13, pop_required = $14, pop_required_for = $15 WHERE identifier = $12`,
			api.Name, scopes, int64(api.TokenLifetime/time.Second), api.SigningAlg, api.TokenDialect,
			api.AllowOfflineAccess, api.TokenReuse, policy(api.UserPolicy), policy(api.ClientPolicy), api.EnforcePolicies,
			extras, api.Identifier, api.ProofOfPossession.Mechanism, api.ProofOfPossession.Required,
			api.ProofOfPossession.RequiredFor)); err != nil {
			return err
		}
		if err := s.appendChange(ctx, tx, storage.EntityAPI, api.Identifier); err != nil {
			return err
		}
		return s.pruneGrants(ctx, tx, api)
	})
	if err != nil {
		return fmt.Errorf("update api %q: %w", api.Identifier, err)
	}
	return nil
}

// DeleteAPI deletes the API and every grant for it, or returns
// storage.ErrNotFound. Besides the API's change it records a change of every
// client that had a grant for it.
func (s *Store) DeleteAPI(ctx context.Context, identifier string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		// The grants go with the API (ON DELETE CASCADE): their clients change.
		clients, err := queryAll(ctx, tx, scanString,
			"SELECT client_id FROM client_grants WHERE audience = $1 ORDER BY client_id", identifier)
		if err != nil {
			return err
		}
		if err := mustAffect(tx.ExecContext(ctx, "DELETE FROM apis WHERE identifier = $1", identifier)); err != nil {
			return err
		}
		if err := s.appendChange(ctx, tx, storage.EntityAPI, identifier); err != nil {
			return err
		}
		for _, id := range clients {
			if err := s.appendChange(ctx, tx, storage.EntityClient, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete api %q: %w", identifier, err)
	}
	return nil
}

// pruneGrants removes from the grants for api the scopes it does not
// define, inside the transaction tx of the API's update.
func (s *Store) pruneGrants(ctx context.Context, tx *sql.Tx, api storage.API) error {
	grants, err := queryAll(ctx, tx, s.scanGrant,
		"SELECT "+grantColumns+" FROM client_grants WHERE audience = $1 ORDER BY created_at, id"+s.f.ForUpdate, api.Identifier)
	if err != nil {
		return err
	}
	defined := make(map[string]bool, len(api.Scopes))
	for _, sc := range api.Scopes {
		defined[sc.Value] = true
	}
	for _, g := range grants {
		kept := slices.DeleteFunc(slices.Clone(g.Scope), func(sc string) bool { return !defined[sc] })
		if len(kept) == len(g.Scope) {
			continue
		}
		if _, err := tx.ExecContext(ctx, "UPDATE client_grants SET scope = $2 WHERE id = $1", g.ID, s.f.List(kept)); err != nil {
			return err
		}
		if err := s.appendChange(ctx, tx, storage.EntityClient, g.ClientID); err != nil {
			return err
		}
	}
	return nil
}

func scanAPI(r rowScanner) (storage.API, error) {
	var (
		api    storage.API
		scopes []byte
	)
	if err := r.Scan(&api.Identifier, &api.Name, &scopes, seconds{&api.TokenLifetime},
		&api.SigningAlg, &api.TokenDialect, &api.AllowOfflineAccess, &api.TokenReuse,
		&api.UserPolicy, &api.ClientPolicy, &api.EnforcePolicies, document[storage.APIExtras]{&api.Extras}, at(&api.CreatedAt),
		&api.ProofOfPossession.Mechanism, &api.ProofOfPossession.Required, &api.ProofOfPossession.RequiredFor); err != nil {
		return storage.API{}, err
	}
	api.Scopes = []storage.Scope{}
	if err := json.Unmarshal(scopes, &api.Scopes); err != nil {
		return storage.API{}, fmt.Errorf("decode scopes of api %q: %w", api.Identifier, err)
	}
	return api, nil
}

// jsonObject encodes v, a struct of settings, as a JSON object, as a
// string, which both a TEXT and a jsonb column take.
func jsonObject(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// scanString scans a row of one text column.
func scanString(r rowScanner) (v string, err error) { return v, r.Scan(&v) }

// jsonList encodes a list as a JSON array (a nil list as []), as a string,
// which both a TEXT and a jsonb column take.
func jsonList[T any](v []T) (string, error) {
	if v == nil {
		v = []T{}
	}
	b, err := json.Marshal(v)
	return string(b), err
}
