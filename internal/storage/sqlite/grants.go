package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const grantColumns = "id, client_id, audience, scope, created_at"

// CreateGrant stores a grant; storage.ErrNotFound if the client or the API
// does not exist, storage.ErrAlreadyExists if the grant ID is taken or the
// client already has a grant for the API.
func (s *Store) CreateGrant(ctx context.Context, g storage.Grant) error {
	scope, err := toJSON(g.Scope)
	if err != nil {
		return fmt.Errorf("create grant %q: encode scope: %w", g.ID, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		// Check first so that the error says what is missing or taken; the
		// constraints remain the authority.
		ok, err := exists(ctx, tx, "SELECT 1 FROM clients WHERE client_id = ?", g.ClientID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("client %q: %w", g.ClientID, storage.ErrNotFound)
		}
		if ok, err = exists(ctx, tx, "SELECT 1 FROM apis WHERE identifier = ?", g.Audience); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("api %q: %w", g.Audience, storage.ErrNotFound)
		}
		if ok, err = exists(ctx, tx, "SELECT 1 FROM client_grants WHERE client_id = ? AND audience = ?",
			g.ClientID, g.Audience); err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("client %q already has a grant for %q: %w",
				g.ClientID, g.Audience, storage.ErrAlreadyExists)
		}
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO client_grants ("+grantColumns+") VALUES (?, ?, ?, ?, ?)",
			g.ID, g.ClientID, g.Audience, scope, toMicros(g.CreatedAt)); err != nil {
			return translate(err)
		}
		return appendChange(ctx, tx, storage.EntityClient, g.ClientID)
	})
	if err != nil {
		return fmt.Errorf("create grant %q: %w", g.ID, err)
	}
	return nil
}

// GetGrant returns the grant or storage.ErrNotFound.
func (s *Store) GetGrant(ctx context.Context, id string) (storage.Grant, error) {
	g, err := scanGrant(s.db.QueryRowContext(ctx,
		"SELECT "+grantColumns+" FROM client_grants WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.Grant{}, fmt.Errorf("get grant %q: %w", id, err)
	}
	return g, nil
}

// ListGrants returns the grants that match f, ordered by creation time, then
// ID.
func (s *Store) ListGrants(ctx context.Context, f storage.GrantFilter) ([]storage.Grant, error) {
	var (
		where []string
		args  []any
	)
	if f.ClientID != "" {
		where, args = append(where, "client_id = ?"), append(args, f.ClientID)
	}
	if f.Audience != "" {
		where, args = append(where, "audience = ?"), append(args, f.Audience)
	}
	query := "SELECT " + grantColumns + " FROM client_grants"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at, id"
	out, err := queryAll(ctx, s.db, scanGrant, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	return out, nil
}

// UpdateGrant replaces the scope of a grant, or returns storage.ErrNotFound.
func (s *Store) UpdateGrant(ctx context.Context, id string, scope []string) error {
	enc, err := toJSON(scope)
	if err != nil {
		return fmt.Errorf("update grant %q: encode scope: %w", id, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var clientID string
		err := tx.QueryRowContext(ctx,
			"UPDATE client_grants SET scope = ? WHERE id = ? RETURNING client_id", enc, id).Scan(&clientID)
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityClient, clientID)
	})
	if err != nil {
		return fmt.Errorf("update grant %q: %w", id, err)
	}
	return nil
}

// DeleteGrant deletes a grant or returns storage.ErrNotFound.
func (s *Store) DeleteGrant(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var clientID string
		err := tx.QueryRowContext(ctx,
			"DELETE FROM client_grants WHERE id = ? RETURNING client_id", id).Scan(&clientID)
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityClient, clientID)
	})
	if err != nil {
		return fmt.Errorf("delete grant %q: %w", id, err)
	}
	return nil
}

func scanGrant(r rowScanner) (storage.Grant, error) {
	var (
		g       storage.Grant
		scope   string
		created sql.NullInt64
	)
	if err := r.Scan(&g.ID, &g.ClientID, &g.Audience, &scope, &created); err != nil {
		return storage.Grant{}, err
	}
	var err error
	if g.Scope, err = fromJSON[string](scope); err != nil {
		return storage.Grant{}, fmt.Errorf("decode scope of grant %q: %w", g.ID, err)
	}
	g.CreatedAt = fromMicros(created)
	return g, nil
}
