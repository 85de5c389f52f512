package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const keyColumns = "kid, alg, state, private_key, public_jwk, created_at, activated_at, retire_at"

// ListKeys returns every signing key ordered by creation time, then kid.
func (s *Store) ListKeys(ctx context.Context) ([]storage.SigningKey, error) {
	out, err := queryAll(ctx, s.db, scanKey,
		"SELECT "+keyColumns+" FROM signing_keys ORDER BY created_at, kid")
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}

func scanKey(r rowScanner) (storage.SigningKey, error) {
	var (
		k                            storage.SigningKey
		created, activated, retireAt sql.NullInt64
	)
	if err := r.Scan(&k.KID, &k.Alg, &k.State, &k.PrivateKey, &k.PublicJWK,
		&created, &activated, &retireAt); err != nil {
		return storage.SigningKey{}, err
	}
	k.CreatedAt = fromMicros(created)
	k.ActivatedAt = fromMicros(activated)
	k.RetireAt = fromMicros(retireAt)
	return k, nil
}

// SaveKeys updates the State, ActivatedAt and RetireAt of the keys in update
// and inserts the keys in create, in one transaction, and records a change
// of every key it touched. The updates are applied before the inserts and
// do not depend on their order (a rotation may list next→current before
// current→previous). If the result would hold two next or two current keys
// of one algorithm, or a kid is taken, it returns storage.ErrAlreadyExists;
// if a key to update does not exist, storage.ErrNotFound. Either way nothing
// of the call is saved.
func (s *Store) SaveKeys(ctx context.Context, create, update []storage.SigningKey) error {
	if len(create) == 0 && len(update) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		// Park every updated key outside the one-next-one-current index
		// first, so that only the final states are checked against it.
		for _, k := range update {
			res, err := tx.ExecContext(ctx,
				"UPDATE signing_keys SET state = ? WHERE kid = ?", storage.KeyRetired, k.KID)
			if err != nil {
				return fmt.Errorf("update key %q: %w", k.KID, err)
			}
			if err := mustAffect(res); err != nil {
				return fmt.Errorf("update key %q: %w", k.KID, err)
			}
		}
		for _, k := range update {
			if _, err := tx.ExecContext(ctx,
				"UPDATE signing_keys SET state = ?, activated_at = ?, retire_at = ? WHERE kid = ?",
				k.State, toMicros(k.ActivatedAt), toMicros(k.RetireAt), k.KID); err != nil {
				return fmt.Errorf("update key %q to %s: %w", k.KID, k.State, translate(err))
			}
			if err := appendChange(ctx, tx, storage.EntityKey, k.KID); err != nil {
				return err
			}
		}
		for _, k := range create {
			if _, err := tx.ExecContext(ctx,
				"INSERT INTO signing_keys ("+keyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				k.KID, k.Alg, k.State, blob(k.PrivateKey), blob(k.PublicJWK),
				toMicros(k.CreatedAt), toMicros(k.ActivatedAt), toMicros(k.RetireAt)); err != nil {
				return fmt.Errorf("create %s key %q (%s): %w", k.Alg, k.KID, k.State, translate(err))
			}
			if err := appendChange(ctx, tx, storage.EntityKey, k.KID); err != nil {
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
