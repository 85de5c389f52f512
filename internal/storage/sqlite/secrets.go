package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const secretColumns = "id, client_id, hash_alg, hash, hint, created_at, not_before, expires_at, last_used_at"

// insertSecret inserts sec, translating constraint violations: a taken ID is
// storage.ErrAlreadyExists, a missing client storage.ErrNotFound.
func insertSecret(ctx context.Context, tx *sql.Tx, sec storage.Secret) error {
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO client_secrets ("+secretColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		sec.ID, sec.ClientID, sec.HashAlg, blob(sec.Hash), sec.Hint, toMicros(sec.CreatedAt),
		toMicros(sec.NotBefore), toMicros(sec.ExpiresAt), toMicros(sec.LastUsedAt)); err != nil {
		return translate(err)
	}
	return nil
}

// addSecret inserts sec for an existing client; storage.ErrNotFound names
// the client.
func addSecret(ctx context.Context, tx *sql.Tx, sec storage.Secret) error {
	ok, err := exists(ctx, tx, "SELECT 1 FROM clients WHERE client_id = ?", sec.ClientID)
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
	err := s.write(ctx, func(tx *sql.Tx) error {
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := addSecret(ctx, tx, sec); err != nil {
			return err
		}
		capAt := expireOthersAt.UnixMicro()
		if _, err := tx.ExecContext(ctx, `UPDATE client_secrets SET expires_at = ?
			WHERE client_id = ? AND id <> ? AND (expires_at IS NULL OR expires_at > ?)`,
			capAt, sec.ClientID, sec.ID, capAt); err != nil {
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
	err := s.read(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "SELECT 1 FROM clients WHERE client_id = ?", clientID)
		if err != nil {
			return err
		}
		if !ok {
			return storage.ErrNotFound
		}
		out, err = queryAll(ctx, tx, scanSecret, "SELECT "+secretColumns+
			" FROM client_secrets WHERE client_id = ? ORDER BY created_at, id", clientID)
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
	err := s.read(ctx, func(tx *sql.Tx) error {
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"DELETE FROM client_secrets WHERE id = ? AND client_id = ?", secretID, clientID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityClient, clientID)
	})
	if err != nil {
		return fmt.Errorf("delete secret %q of client %q: %w", secretID, clientID, err)
	}
	return nil
}

// touchChunk is how many secrets one statement of TouchSecrets updates:
// 2 parameters each, well under SQLite's limit of 32,766.
const touchChunk = 500

// TouchSecrets records the last use times of secrets, keyed by secret ID.
// A time only ever moves a secret's LastUsedAt forward (batches of several
// instances may arrive out of order); zero times and unknown IDs are
// ignored. It does not append to the change feed. It updates up to 500
// secrets per statement (an UPDATE … FROM a VALUES list, in ID order), each
// statement its own short transaction, so that a large batch neither pays a
// statement per secret nor holds the write lock for long.
func (s *Store) TouchSecrets(ctx context.Context, lastUsed map[string]time.Time) error {
	ids := make([]string, 0, len(lastUsed))
	for id, t := range lastUsed {
		if !t.IsZero() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var q strings.Builder
	args := make([]any, 0, 2*min(len(ids), touchChunk))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), touchChunk)]
		ids = ids[len(chunk):]
		q.Reset()
		q.WriteString("WITH t(id, at) AS (VALUES ")
		args = args[:0]
		for i, id := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?)")
			args = append(args, id, lastUsed[id].UnixMicro())
		}
		q.WriteString(`) UPDATE client_secrets SET last_used_at = t.at FROM t
			WHERE client_secrets.id = t.id AND (client_secrets.last_used_at IS NULL OR client_secrets.last_used_at < t.at)`)
		if err := s.write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, q.String(), args...)
			return err
		}); err != nil {
			return fmt.Errorf("touch secrets: %w", err)
		}
		if len(ids) > 0 {
			storage.YieldCPU()
		}
	}
	return nil
}

func scanSecret(r rowScanner) (storage.Secret, error) {
	var (
		sec                                       storage.Secret
		created, notBefore, expires, lastUsedTime sql.NullInt64
	)
	if err := r.Scan(&sec.ID, &sec.ClientID, &sec.HashAlg, &sec.Hash, &sec.Hint,
		&created, &notBefore, &expires, &lastUsedTime); err != nil {
		return storage.Secret{}, err
	}
	sec.CreatedAt = fromMicros(created)
	sec.NotBefore = fromMicros(notBefore)
	sec.ExpiresAt = fromMicros(expires)
	sec.LastUsedAt = fromMicros(lastUsedTime)
	return sec, nil
}
