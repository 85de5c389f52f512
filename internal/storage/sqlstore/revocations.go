package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Revoke stores a denylist entry or raises the stored one's times, and
// records the change, in one transaction.
func (s *Store) Revoke(ctx context.Context, r storage.Revocation) error {
	if err := storage.CheckRevocation(r); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *sql.Tx) error { return s.revokeIn(ctx, tx, r) })
	if err != nil {
		return fmt.Errorf("revoke %s: %w", r.Kind, err)
	}
	return nil
}

// revokeIn is Revoke's statements in tx, which holds the change lock.
func (s *Store) revokeIn(ctx context.Context, tx *sql.Tx, r storage.Revocation) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO revocations (kind, value, revoked_before, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, value) DO UPDATE SET
		revoked_before = CASE WHEN excluded.revoked_before > revocations.revoked_before THEN excluded.revoked_before ELSE revocations.revoked_before END,
		expires_at = CASE WHEN excluded.expires_at > revocations.expires_at THEN excluded.expires_at ELSE revocations.expires_at END`,
		r.Kind, r.Value, s.f.Time(r.Before), s.f.Time(r.ExpiresAt)); err != nil {
		return err
	}
	return s.appendChange(ctx, tx, storage.EntityRevocation, r.Key())
}

const revocationColumns = "kind, value, revoked_before, expires_at"

func scanRevocation(r rowScanner) (v storage.Revocation, err error) {
	return v, r.Scan(&v.Kind, &v.Value, at(&v.Before), at(&v.ExpiresAt))
}

// GetRevocation returns one denylist entry or storage.ErrNotFound.
func (s *Store) GetRevocation(ctx context.Context, kind, value string) (storage.Revocation, error) {
	return selectOne(ctx, s, "get revocation "+kind, scanRevocation,
		"SELECT "+revocationColumns+" FROM revocations WHERE kind = $1 AND value = $2", kind, value)
}

// ListRevocations returns the entries that expire after after.
func (s *Store) ListRevocations(ctx context.Context, after time.Time) ([]storage.Revocation, error) {
	return selectAll(ctx, s, "list revocations", scanRevocation,
		"SELECT "+revocationColumns+" FROM revocations WHERE expires_at > $1 ORDER BY kind, value", s.f.Time(after))
}

// DeleteExpiredRevocations deletes the entries that expired before before.
func (s *Store) DeleteExpiredRevocations(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.exec(ctx, "DELETE FROM revocations WHERE expires_at < $1", s.f.Time(before))
	if err != nil {
		return 0, fmt.Errorf("delete expired revocations: %w", err)
	}
	return n, nil
}

// RevokeRefreshFamilies revokes the client's or the user's families that
// are not revoked yet.
func (s *Store) RevokeRefreshFamilies(ctx context.Context, clientID, userID string, at time.Time) (int64, error) {
	if clientID == "" && userID == "" {
		return 0, errors.New("revoke refresh families: neither a client nor a user is given")
	}
	n, err := s.exec(ctx, `UPDATE refresh_families SET revoked_at = $1 WHERE revoked_at IS NULL
		AND ($2 = '' OR client_id = $2) AND ($3 = '' OR user_id = $3)`, s.f.Time(at), clientID, userID)
	if err != nil {
		return 0, fmt.Errorf("revoke refresh families: %w", err)
	}
	return n, nil
}

// AddIntrospector lets a client introspect an API's tokens.
func (s *Store) AddIntrospector(ctx context.Context, in storage.Introspector) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "api", in.Audience, "SELECT 1 FROM apis WHERE identifier = $1"); err != nil {
			return err
		}
		if err := mustExist(ctx, tx, "client", in.ClientID, "SELECT 1 FROM clients WHERE client_id = $1"); err != nil {
			return err
		}
		taken, err := exists(ctx, tx, "SELECT 1 FROM introspectors WHERE audience = $1 AND client_id = $2", in.Audience, in.ClientID)
		if err != nil {
			return err
		}
		if taken {
			return storage.ErrAlreadyExists
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO introspectors (audience, client_id, created_at) VALUES ($1, $2, $3)",
			in.Audience, in.ClientID, s.f.Time(in.CreatedAt)); err != nil {
			return s.translate(err)
		}
		return s.appendChange(ctx, tx, storage.EntityIntrospection, in.Audience)
	})
	if err != nil {
		return fmt.Errorf("add introspector %q of %q: %w", in.ClientID, in.Audience, err)
	}
	return nil
}

// RemoveIntrospector takes a client's right to introspect an API's tokens back.
func (s *Store) RemoveIntrospector(ctx context.Context, audience, clientID string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, "DELETE FROM introspectors WHERE audience = $1 AND client_id = $2", audience, clientID)); err != nil {
			return err
		}
		return s.appendChange(ctx, tx, storage.EntityIntrospection, audience)
	})
	if err != nil {
		return fmt.Errorf("remove introspector %q of %q: %w", clientID, audience, err)
	}
	return nil
}

// ListIntrospectors returns the rights for audience, or all of them.
func (s *Store) ListIntrospectors(ctx context.Context, audience string) ([]storage.Introspector, error) {
	return selectAll(ctx, s, "list introspectors", func(r rowScanner) (in storage.Introspector, err error) {
		return in, r.Scan(&in.Audience, &in.ClientID, at(&in.CreatedAt))
	}, "SELECT audience, client_id, created_at FROM introspectors WHERE $1 = '' OR audience = $1 ORDER BY audience, client_id", audience)
}
