package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const grantColumns = "id, client_id, audience, scope, created_at, subject_type"

// subjectType is the stored form of a grant's subject type: "" is a
// client's own.
func subjectType(t string) string {
	if t == "" {
		return storage.SubjectClient
	}
	return t
}

// CreateGrant stores a grant; storage.ErrNotFound if the client or the API
// does not exist, storage.ErrAlreadyExists if the grant ID is taken or the
// client already has a grant of that subject type for the API.
func (s *Store) CreateGrant(ctx context.Context, g storage.Grant) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		// Check first so that the error says what is missing or taken; the
		// constraints remain the authority.
		if err := mustExist(ctx, tx, "client", g.ClientID, "SELECT 1 FROM clients WHERE client_id = $1"); err != nil {
			return err
		}
		if err := mustExist(ctx, tx, "api", g.Audience, "SELECT 1 FROM apis WHERE identifier = $1"); err != nil {
			return err
		}
		subject := subjectType(g.SubjectType)
		taken, err := exists(ctx, tx, "SELECT 1 FROM client_grants WHERE client_id = $1 AND audience = $2 AND subject_type = $3",
			g.ClientID, g.Audience, subject)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("client %q already has a %s grant for %q: %w", g.ClientID, subject, g.Audience, storage.ErrAlreadyExists)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO client_grants ("+grantColumns+") VALUES ($1, $2, $3, $4, $5, $6)",
			g.ID, g.ClientID, g.Audience, s.f.List(g.Scope), s.f.Time(g.CreatedAt), subject); err != nil {
			return s.translate(err)
		}
		return s.appendChange(ctx, tx, storage.EntityClient, g.ClientID)
	})
	if err != nil {
		return fmt.Errorf("create grant %q: %w", g.ID, err)
	}
	return nil
}

// GetGrant returns the grant or storage.ErrNotFound.
func (s *Store) GetGrant(ctx context.Context, id string) (storage.Grant, error) {
	return selectOne(ctx, s, fmt.Sprintf("get grant %q", id), s.scanGrant,
		"SELECT "+grantColumns+" FROM client_grants WHERE id = $1", id)
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
		where = append(where, "client_id = "+s.f.param(len(args)))
	}
	if f.Audience != "" {
		args = append(args, f.Audience)
		where = append(where, "audience = "+s.f.param(len(args)))
	}
	if f.SubjectType != "" {
		args = append(args, f.SubjectType)
		where = append(where, "subject_type = "+s.f.param(len(args)))
	}
	query := "SELECT " + grantColumns + " FROM client_grants"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	return selectAll(ctx, s, "list grants", s.scanGrant, query+" ORDER BY created_at, id", args...)
}

// UpdateGrant replaces the scope of a grant, or returns storage.ErrNotFound.
func (s *Store) UpdateGrant(ctx context.Context, id string, scope []string) error {
	err := s.changeGrant(ctx, "UPDATE client_grants SET scope = $2 WHERE id = $1 RETURNING client_id", id, s.f.List(scope))
	if err != nil {
		return fmt.Errorf("update grant %q: %w", id, err)
	}
	return nil
}

// DeleteGrant deletes a grant or returns storage.ErrNotFound.
func (s *Store) DeleteGrant(ctx context.Context, id string) error {
	if err := s.changeGrant(ctx, "DELETE FROM client_grants WHERE id = $1 RETURNING client_id", id); err != nil {
		return fmt.Errorf("delete grant %q: %w", id, err)
	}
	return nil
}

// changeGrant runs query, which changes a grant and returns its client ID,
// and records the client's change; storage.ErrNotFound if there is no
// such grant.
func (s *Store) changeGrant(ctx context.Context, query string, args ...any) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var clientID string
		err := tx.QueryRowContext(ctx, query, args...).Scan(&clientID)
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		return s.appendChange(ctx, tx, storage.EntityClient, clientID)
	})
}

func (s *Store) scanGrant(r rowScanner) (storage.Grant, error) {
	var g storage.Grant
	err := r.Scan(&g.ID, &g.ClientID, &g.Audience, s.list(&g.Scope), at(&g.CreatedAt), &g.SubjectType)
	return g, err
}
