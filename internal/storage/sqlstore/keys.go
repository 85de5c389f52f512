package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const keyColumns = "kid, alg, state, private_key, public_jwk, created_at, activated_at, retire_at"

// ListKeys returns every signing key ordered by creation time, then kid.
func (s *Store) ListKeys(ctx context.Context) ([]storage.SigningKey, error) {
	return selectAll(ctx, s, "list keys", scanKey, "SELECT "+keyColumns+" FROM signing_keys ORDER BY created_at, kid")
}

func scanKey(r rowScanner) (storage.SigningKey, error) {
	var k storage.SigningKey
	err := r.Scan(&k.KID, &k.Alg, &k.State, &k.PrivateKey, &k.PublicJWK,
		at(&k.CreatedAt), at(&k.ActivatedAt), at(&k.RetireAt))
	return k, err
}

// SaveKeys updates the State, ActivatedAt and RetireAt of the keys in update
// and inserts the keys in create, in one transaction, and records a change
// of every key it touched. The updates are applied before the inserts and
// do not depend on their order (a rotation may list next→current before
// current→previous): the partial unique index of next and current keys is
// checked row by row (PostgreSQL's cannot be deferred), so every key to
// update is first parked in the retired state, outside the index, and only
// then given its final state. If the result would hold two next or two
// current keys of one algorithm, or a kid is taken, it returns
// storage.ErrAlreadyExists; if a key to update does not exist,
// storage.ErrNotFound. Either way nothing of the call is saved.
func (s *Store) SaveKeys(ctx context.Context, create, update []storage.SigningKey) error {
	if len(create) == 0 && len(update) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, k := range update {
			if err := mustAffect(tx.ExecContext(ctx,
				"UPDATE signing_keys SET state = $1 WHERE kid = $2", storage.KeyRetired, k.KID)); err != nil {
				return fmt.Errorf("update key %q: %w", k.KID, err)
			}
		}
		for _, k := range update {
			if _, err := tx.ExecContext(ctx,
				"UPDATE signing_keys SET state = $1, activated_at = $2, retire_at = $3 WHERE kid = $4",
				k.State, s.f.Time(k.ActivatedAt), s.f.Time(k.RetireAt), k.KID); err != nil {
				return fmt.Errorf("update key %q to %s: %w", k.KID, k.State, s.translate(err))
			}
			if err := s.appendChange(ctx, tx, storage.EntityKey, k.KID); err != nil {
				return err
			}
		}
		for _, k := range create {
			if _, err := tx.ExecContext(ctx,
				"INSERT INTO signing_keys ("+keyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
				k.KID, k.Alg, k.State, nonNil(k.PrivateKey), nonNil(k.PublicJWK),
				s.f.Time(k.CreatedAt), s.f.Time(k.ActivatedAt), s.f.Time(k.RetireAt)); err != nil {
				return fmt.Errorf("create %s key %q (%s): %w", k.Alg, k.KID, k.State, s.translate(err))
			}
			if err := s.appendChange(ctx, tx, storage.EntityKey, k.KID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save keys: %w", err)
	}
	return nil
}
