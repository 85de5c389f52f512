package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO apis ("+apiColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			api.Identifier, api.Name, scopes, int64(api.TokenLifetime/time.Second),
			api.SigningAlg, api.TokenDialect, api.AllowOfflineAccess, api.TokenReuse, toMicros(api.CreatedAt)); err != nil {
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
	api, err := scanAPI(s.db.QueryRowContext(ctx,
		"SELECT "+apiColumns+" FROM apis WHERE identifier = ?", identifier))
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.API{}, fmt.Errorf("get api %q: %w", identifier, err)
	}
	return api, nil
}

// ListAPIs returns every API ordered by identifier.
func (s *Store) ListAPIs(ctx context.Context) ([]storage.API, error) {
	out, err := queryAll(ctx, s.db, scanAPI, "SELECT "+apiColumns+" FROM apis ORDER BY identifier")
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
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"UPDATE apis SET name = ?, scopes = ?, token_lifetime = ?, signing_alg = ?, token_dialect = ?, allow_offline_access = ?, token_reuse = ? WHERE identifier = ?",
			api.Name, scopes, int64(api.TokenLifetime/time.Second), api.SigningAlg, api.TokenDialect, api.AllowOfflineAccess, api.TokenReuse, api.Identifier)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "SELECT 1 FROM apis WHERE identifier = ?", identifier)
		if err != nil {
			return err
		}
		if !ok {
			return storage.ErrNotFound
		}
		if err := appendChange(ctx, tx, storage.EntityAPI, identifier); err != nil {
			return err
		}
		// The grants go with the API (ON DELETE CASCADE): their clients change.
		if _, err := tx.ExecContext(ctx, `INSERT INTO changes (entity, id, changed_at)
			SELECT ?, client_id, ? FROM client_grants WHERE audience = ? ORDER BY client_id`,
			storage.EntityClient, time.Now().UnixMicro(), identifier); err != nil {
			return fmt.Errorf("record client changes: %w", err)
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM apis WHERE identifier = ?", identifier)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("delete api %q: %w", identifier, err)
	}
	return nil
}

func scanAPI(r rowScanner) (storage.API, error) {
	var (
		api      storage.API
		scopes   string
		lifetime int64
		created  sql.NullInt64
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
	api.CreatedAt = fromMicros(created)
	return api, nil
}
