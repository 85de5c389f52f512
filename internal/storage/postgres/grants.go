package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const grantColumns = "id, client_id, audience, scope, created_at"

// CreateGrant stores a grant; storage.ErrNotFound if the client or the API
// does not exist, storage.ErrAlreadyExists if the grant ID is taken or the
// client already has a grant for the API.
func (s *Store) CreateGrant(ctx context.Context, g storage.Grant) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		// Check first so that the error says what is missing or taken; the
		// constraints remain the authority.
		ok, err := exists(ctx, tx, "SELECT 1 FROM clients WHERE client_id = $1", g.ClientID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("client %q: %w", g.ClientID, storage.ErrNotFound)
		}
		if ok, err = exists(ctx, tx, "SELECT 1 FROM apis WHERE identifier = $1", g.Audience); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("api %q: %w", g.Audience, storage.ErrNotFound)
		}
		if ok, err = exists(ctx, tx, "SELECT 1 FROM client_grants WHERE client_id = $1 AND audience = $2",
			g.ClientID, g.Audience); err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("client %q already has a grant for %q: %w",
				g.ClientID, g.Audience, storage.ErrAlreadyExists)
		}
		if _, err := tx.Exec(ctx,
			"INSERT INTO client_grants ("+grantColumns+") VALUES ($1, $2, $3, $4, $5)",
			g.ID, g.ClientID, g.Audience, list(g.Scope), ts(g.CreatedAt)); err != nil {
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
	g, err := queryOne(ctx, s.pool, scanGrant,
		"SELECT "+grantColumns+" FROM client_grants WHERE id = $1", id)
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
		args = append(args, f.ClientID)
		where = append(where, "client_id = $"+strconv.Itoa(len(args)))
	}
	if f.Audience != "" {
		args = append(args, f.Audience)
		where = append(where, "audience = $"+strconv.Itoa(len(args)))
	}
	query := "SELECT " + grantColumns + " FROM client_grants"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at, id"
	out, err := queryAll(ctx, s.pool, scanGrant, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	return out, nil
}

// UpdateGrant replaces the scope of a grant, or returns storage.ErrNotFound.
func (s *Store) UpdateGrant(ctx context.Context, id string, scope []string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		var clientID string
		err := tx.QueryRow(ctx,
			"UPDATE client_grants SET scope = $1 WHERE id = $2 RETURNING client_id", list(scope), id).Scan(&clientID)
		if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.write(ctx, func(tx pgx.Tx) error {
		var clientID string
		err := tx.QueryRow(ctx,
			"DELETE FROM client_grants WHERE id = $1 RETURNING client_id", id).Scan(&clientID)
		if errors.Is(err, pgx.ErrNoRows) {
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

func scanGrant(r pgx.Row) (storage.Grant, error) {
	var (
		g       storage.Grant
		created *time.Time
	)
	if err := r.Scan(&g.ID, &g.ClientID, &g.Audience, &g.Scope, &created); err != nil {
		return storage.Grant{}, err
	}
	g.CreatedAt = fromTS(created)
	return g, nil
}
