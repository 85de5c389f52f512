package sqlstore

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
func (s *Store) insertSecret(ctx context.Context, tx *sql.Tx, sec storage.Secret) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO client_secrets ("+secretColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		sec.ID, sec.ClientID, sec.HashAlg, nonNil(sec.Hash), sec.Hint, s.f.Time(sec.CreatedAt),
		s.f.Time(sec.NotBefore), s.f.Time(sec.ExpiresAt), s.f.Time(sec.LastUsedAt))
	return s.translate(err)
}

// addSecret inserts sec for an existing client; storage.ErrNotFound names
// the client.
func (s *Store) addSecret(ctx context.Context, tx *sql.Tx, sec storage.Secret) error {
	if err := mustExist(ctx, tx, "client", sec.ClientID, "SELECT 1 FROM clients WHERE client_id = $1"); err != nil {
		return err
	}
	return s.insertSecret(ctx, tx, sec)
}

// AddSecret stores a new secret; storage.ErrNotFound if the client does not
// exist, storage.ErrAlreadyExists if the secret ID is taken.
func (s *Store) AddSecret(ctx context.Context, sec storage.Secret) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.addSecret(ctx, tx, sec); err != nil {
			return err
		}
		return s.appendChange(ctx, tx, storage.EntityClient, sec.ClientID)
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
		if err := s.addSecret(ctx, tx, sec); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE client_secrets SET expires_at = $1
			WHERE client_id = $2 AND id <> $3 AND (expires_at IS NULL OR expires_at > $1)`,
			s.f.Time(expireOthersAt), sec.ClientID, sec.ID); err != nil {
			return fmt.Errorf("expire other secrets: %w", err)
		}
		return s.appendChange(ctx, tx, storage.EntityClient, sec.ClientID)
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
	return selectAll(ctx, s, "list all secrets", scanSecret,
		"SELECT "+secretColumns+" FROM client_secrets ORDER BY client_id, created_at, id")
}

// DeleteSecret revokes a secret of the client, or returns
// storage.ErrNotFound if the client has no secret with that ID.
func (s *Store) DeleteSecret(ctx context.Context, clientID, secretID string) error {
	err := s.changeClient(ctx, clientID, "DELETE FROM client_secrets WHERE client_id = $1 AND id = $2", secretID)
	if err != nil {
		return fmt.Errorf("delete secret %q of client %q: %w", secretID, clientID, err)
	}
	return nil
}

// touchChunk is how many secrets one statement of the shared TouchSecrets
// updates: 2 parameters each, well under SQLite's limit of 32,766.
const touchChunk = 500

// TouchSecrets records the last use times of secrets, keyed by secret ID.
// A time only ever moves a secret's LastUsedAt forward (batches of several
// instances may arrive out of order); zero times and unknown IDs are
// ignored. It does not append to the change feed. The secrets are updated
// in ID order, so that two instances flushing at once do not deadlock: by
// the flavor's TouchSecrets in one transaction, or else up to 500 per
// statement (an UPDATE … FROM a VALUES list), each statement its own short
// transaction with a pause for waiting requests between them
// (storage.YieldCPU), so that a large batch neither pays a statement per
// secret nor holds the write lock for long.
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
	if s.f.TouchSecrets != nil {
		ats := make([]time.Time, len(ids))
		for i, id := range ids {
			ats[i] = lastUsed[id].Truncate(time.Microsecond).UTC()
		}
		if err := s.update(ctx, func(tx *sql.Tx) error { return s.f.TouchSecrets(ctx, tx, ids, ats) }); err != nil {
			return fmt.Errorf("touch secrets: %w", err)
		}
		return nil
	}
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
			q.WriteString("(" + s.f.param(len(args)+1) + ", " + s.f.param(len(args)+2) + ")")
			args = append(args, id, s.f.Time(lastUsed[id]))
		}
		q.WriteString(`) UPDATE client_secrets SET last_used_at = t.at FROM t
			WHERE client_secrets.id = t.id AND (client_secrets.last_used_at IS NULL OR client_secrets.last_used_at < t.at)`)
		if _, err := s.exec(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("touch secrets: %w", err)
		}
		if len(ids) > 0 {
			storage.YieldCPU()
		}
	}
	return nil
}

func scanSecret(r rowScanner) (storage.Secret, error) {
	var sec storage.Secret
	err := r.Scan(&sec.ID, &sec.ClientID, &sec.HashAlg, &sec.Hash, &sec.Hint,
		at(&sec.CreatedAt), at(&sec.NotBefore), at(&sec.ExpiresAt), at(&sec.LastUsedAt))
	return sec, err
}
