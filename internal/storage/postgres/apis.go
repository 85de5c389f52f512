package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const apiColumns = "identifier, name, scopes, token_lifetime, signing_alg, token_dialect, allow_offline_access, token_reuse, created_at"

// CreateAPI stores a new API; storage.ErrAlreadyExists if the identifier is
// taken. The token lifetime is stored in whole seconds.
func (s *Store) CreateAPI(ctx context.Context, api storage.API) error {
	scopes, err := toJSON(api.Scopes)
	if err != nil {
		return fmt.Errorf("create api %q: encode scopes: %w", api.Identifier, err)
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			"INSERT INTO apis ("+apiColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			api.Identifier, api.Name, scopes, int64(api.TokenLifetime/time.Second),
			api.SigningAlg, api.TokenDialect, api.AllowOfflineAccess, api.TokenReuse, ts(api.CreatedAt)); err != nil {
			return translate(err)
		}
		return appendChange(ctx, tx, storage.EntityAPI, api.Identifier)
	})
	if err != nil {
		return fmt.Errorf("create api %q: %w", api.Identifier, err)
	}
	return nil
}

// GetAPI returns the API with that identifier or storage.ErrNotFound.
func (s *Store) GetAPI(ctx context.Context, identifier string) (storage.API, error) {
	api, err := queryOne(ctx, s.pool, scanAPI,
		"SELECT "+apiColumns+" FROM apis WHERE identifier = $1", identifier)
	if err != nil {
		return storage.API{}, fmt.Errorf("get api %q: %w", identifier, err)
	}
	return api, nil
}

// ListAPIs returns every API ordered by identifier (byte order).
func (s *Store) ListAPIs(ctx context.Context) ([]storage.API, error) {
	out, err := queryAll(ctx, s.pool, scanAPI, "SELECT "+apiColumns+" FROM apis ORDER BY identifier")
	if err != nil {
		return nil, fmt.Errorf("list apis: %w", err)
	}
	return out, nil
}

// UpdateAPI replaces every field of the API but its identifier and
// creation time, or returns storage.ErrNotFound.
func (s *Store) UpdateAPI(ctx context.Context, api storage.API) error {
	scopes, err := toJSON(api.Scopes)
	if err != nil {
		return fmt.Errorf("update api %q: encode scopes: %w", api.Identifier, err)
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			"UPDATE apis SET name = $1, scopes = $2, token_lifetime = $3, signing_alg = $4, token_dialect = $5, allow_offline_access = $6, token_reuse = $7 WHERE identifier = $8",
			api.Name, scopes, int64(api.TokenLifetime/time.Second), api.SigningAlg, api.TokenDialect, api.AllowOfflineAccess, api.TokenReuse, api.Identifier)
		if err != nil {
			return err
		}
		if err := mustAffect(tag); err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityAPI, api.Identifier)
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
	err := s.write(ctx, func(tx pgx.Tx) error {
		// The grants go with the API (ON DELETE CASCADE): their clients change.
		if _, err := tx.Exec(ctx, `INSERT INTO changes (entity, id)
			SELECT $1, client_id FROM client_grants WHERE audience = $2 ORDER BY client_id`,
			storage.EntityClient, identifier); err != nil {
			return fmt.Errorf("record client changes: %w", err)
		}
		tag, err := tx.Exec(ctx, "DELETE FROM apis WHERE identifier = $1", identifier)
		if err != nil {
			return err
		}
		if err := mustAffect(tag); err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityAPI, identifier)
	})
	if err != nil {
		return fmt.Errorf("delete api %q: %w", identifier, err)
	}
	return nil
}

func scanAPI(r pgx.Row) (storage.API, error) {
	var (
		api      storage.API
		scopes   []byte
		lifetime int64
		created  *time.Time
	)
	if err := r.Scan(&api.Identifier, &api.Name, &scopes, &lifetime,
		&api.SigningAlg, &api.TokenDialect, &api.AllowOfflineAccess, &api.TokenReuse, &created); err != nil {
		return storage.API{}, err
	}
	var err error
	if api.Scopes, err = fromJSON[storage.Scope](scopes); err != nil {
		return storage.API{}, fmt.Errorf("decode scopes of api %q: %w", api.Identifier, err)
	}
	api.TokenLifetime = time.Duration(lifetime) * time.Second
	api.CreatedAt = fromTS(created)
	return api, nil
}
