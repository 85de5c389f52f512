package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const secretColumns = "id, client_id, hash_alg, hash, hint, created_at, not_before, expires_at, last_used_at"

// insertSecret inserts sec, translating constraint violations: a taken ID is
// storage.ErrAlreadyExists, a missing client storage.ErrNotFound.
func insertSecret(ctx context.Context, tx pgx.Tx, sec storage.Secret) error {
	if _, err := tx.Exec(ctx,
		"INSERT INTO client_secrets ("+secretColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		sec.ID, sec.ClientID, sec.HashAlg, list(sec.Hash), sec.Hint, ts(sec.CreatedAt),
		ts(sec.NotBefore), ts(sec.ExpiresAt), ts(sec.LastUsedAt)); err != nil {
		return translate(err)
	}
	return nil
}

// addSecret inserts sec for an existing client; storage.ErrNotFound names
// the client.
func addSecret(ctx context.Context, tx pgx.Tx, sec storage.Secret) error {
	ok, err := exists(ctx, tx, "SELECT 1 FROM clients WHERE client_id = $1", sec.ClientID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("client %q: %w", sec.ClientID, storage.ErrNotFound)
	}
	return insertSecret(ctx, tx, sec)
}

// AddSecret stores a new secret; storage.ErrNotFound if the client does not
// exist, storage.ErrAlreadyExists if the secret ID is taken.
func (s *Store) AddSecret(ctx context.Context, sec storage.Secret) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := addSecret(ctx, tx, sec); err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityClient, sec.ClientID)
	})
	if err != nil {
		return fmt.Errorf("add secret %q: %w", sec.ID, err)
	}
	return nil
}

// RotateSecret stores sec and, in the same transaction, caps the expiry of
// every other secret of sec.ClientID at expireOthersAt: a secret that does
// not expire, or expires later, then expires at expireOthersAt; one that
// expires earlier is left alone. expireOthersAt must not be zero.
func (s *Store) RotateSecret(ctx context.Context, sec storage.Secret, expireOthersAt time.Time) error {
	if expireOthersAt.IsZero() {
		return fmt.Errorf("rotate secret %q: zero expiry for the other secrets", sec.ID)
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := addSecret(ctx, tx, sec); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE client_secrets SET expires_at = $1
			WHERE client_id = $2 AND id <> $3 AND (expires_at IS NULL OR expires_at > $1)`,
			ts(expireOthersAt), sec.ClientID, sec.ID); err != nil {
			return fmt.Errorf("expire other secrets: %w", err)
		}
		return appendChange(ctx, tx, storage.EntityClient, sec.ClientID)
	})
	if err != nil {
		return fmt.Errorf("rotate secret %q: %w", sec.ID, err)
	}
	return nil
}

// ListSecrets returns a client's secrets ordered by creation time, then ID;
// storage.ErrNotFound if the client does not exist.
func (s *Store) ListSecrets(ctx context.Context, clientID string) ([]storage.Secret, error) {
	var out []storage.Secret
	err := s.read(ctx, func(tx pgx.Tx) error {
		ok, err := exists(ctx, tx, "SELECT 1 FROM clients WHERE client_id = $1", clientID)
		if err != nil {
			return err
		}
		if !ok {
			return storage.ErrNotFound
		}
		out, err = queryAll(ctx, tx, scanSecret, "SELECT "+secretColumns+
			" FROM client_secrets WHERE client_id = $1 ORDER BY created_at, id", clientID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list secrets of client %q: %w", clientID, err)
	}
	return out, nil
}

// ListAllSecrets returns the secrets of every client ordered by client ID,
// then creation time, then ID, in one query.
func (s *Store) ListAllSecrets(ctx context.Context) ([]storage.Secret, error) {
	var out []storage.Secret
	err := s.read(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, scanSecret, "SELECT "+secretColumns+
			" FROM client_secrets ORDER BY client_id, created_at, id")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list all secrets: %w", err)
	}
	return out, nil
}

// DeleteSecret revokes a secret of the client, or returns
// storage.ErrNotFound if the client has no secret with that ID.
func (s *Store) DeleteSecret(ctx context.Context, clientID, secretID string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			"DELETE FROM client_secrets WHERE id = $1 AND client_id = $2", secretID, clientID)
		if err != nil {
			return err
		}
		if err := mustAffect(tag); err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityClient, clientID)
	})
	if err != nil {
		return fmt.Errorf("delete secret %q of client %q: %w", secretID, clientID, err)
	}
	return nil
}

// TouchSecrets records the last use times of secrets, keyed by secret ID.
// A time only ever moves a secret's LastUsedAt forward (batches of several
// instances may arrive out of order); zero times and unknown IDs are
// ignored. It does not append to the change feed and does not take the
// change lock. Whatever the size of the batch it is two statements: one
// locks the rows in ID order, so that two instances flushing at once do not
// deadlock, and one updates them from arrays (UPDATE … FROM unnest).
func (s *Store) TouchSecrets(ctx context.Context, lastUsed map[string]time.Time) error {
	ids := make([]string, 0, len(lastUsed))
	for id, t := range lastUsed {
		if !t.IsZero() {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	ats := make([]time.Time, len(ids))
	for i, id := range ids {
		ats[i] = *ts(lastUsed[id])
	}
	err := s.retry(ctx, func(tx pgx.Tx) error {
		// Lock the rows in ID order first, then update them all at once.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM client_secrets WHERE id = ANY($1::text[])
			ORDER BY id FOR UPDATE`, ids); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE client_secrets AS s SET last_used_at = t.at
			FROM unnest($1::text[], $2::timestamptz[]) AS t(id, at)
			WHERE s.id = t.id AND (s.last_used_at IS NULL OR s.last_used_at < t.at)`, ids, ats)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch secrets: %w", err)
	}
	return nil
}

func scanSecret(r pgx.Row) (storage.Secret, error) {
	var (
		sec                                       storage.Secret
		created, notBefore, expires, lastUsedTime *time.Time
	)
	if err := r.Scan(&sec.ID, &sec.ClientID, &sec.HashAlg, &sec.Hash, &sec.Hint,
		&created, &notBefore, &expires, &lastUsedTime); err != nil {
		return storage.Secret{}, err
	}
	sec.CreatedAt = fromTS(created)
	sec.NotBefore = fromTS(notBefore)
	sec.ExpiresAt = fromTS(expires)
	sec.LastUsedAt = fromTS(lastUsedTime)
	return sec, nil
}
