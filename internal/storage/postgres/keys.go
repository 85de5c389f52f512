package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const keyColumns = "kid, alg, state, private_key, public_jwk, created_at, activated_at, retire_at"

// ListKeys returns every signing key ordered by creation time, then kid.
func (s *Store) ListKeys(ctx context.Context) ([]storage.SigningKey, error) {
	out, err := queryAll(ctx, s.pool, scanKey,
		"SELECT "+keyColumns+" FROM signing_keys ORDER BY created_at, kid")
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}

func scanKey(r pgx.Row) (storage.SigningKey, error) {
	var (
		k                            storage.SigningKey
		created, activated, retireAt *time.Time
	)
	if err := r.Scan(&k.KID, &k.Alg, &k.State, &k.PrivateKey, &k.PublicJWK,
		&created, &activated, &retireAt); err != nil {
		return storage.SigningKey{}, err
	}
	k.CreatedAt = fromTS(created)
	k.ActivatedAt = fromTS(activated)
	k.RetireAt = fromTS(retireAt)
	return k, nil
}

// SaveKeys updates the State, ActivatedAt and RetireAt of the keys in update
// and inserts the keys in create, in one transaction, and records a change
// of every key it touched. The updates are applied before the inserts and
// do not depend on their order: PostgreSQL checks the (non-deferrable)
// partial unique index of next and current keys row by row, so every key to
// update is first parked in the retired state, outside the index, and only
// then given its final state. If the result would hold two next or two
// current keys of one algorithm, or a kid is taken, it returns
// storage.ErrAlreadyExists; if a key to update does not exist,
// storage.ErrNotFound. Either way nothing of the call is saved.
func (s *Store) SaveKeys(ctx context.Context, create, update []storage.SigningKey) error {
	if len(create) == 0 && len(update) == 0 {
		return nil
	}
	kids := make([]string, 0, len(update))
	for _, k := range update {
		kids = append(kids, k.KID)
	}
	slices.Sort(kids)
	kids = slices.Compact(kids)
	err := s.write(ctx, func(tx pgx.Tx) error {
		if len(kids) > 0 {
			parked, err := queryAll(ctx, tx, func(r pgx.Row) (kid string, err error) {
				return kid, r.Scan(&kid)
			}, "UPDATE signing_keys SET state = $1 WHERE kid = ANY($2) RETURNING kid", storage.KeyRetired, kids)
			if err != nil {
				return fmt.Errorf("update keys: %w", err)
			}
			for _, kid := range kids {
				if !slices.Contains(parked, kid) {
					return fmt.Errorf("update key %q: %w", kid, storage.ErrNotFound)
				}
			}
		}
		for _, k := range update {
			if _, err := tx.Exec(ctx,
				"UPDATE signing_keys SET state = $1, activated_at = $2, retire_at = $3 WHERE kid = $4",
				k.State, ts(k.ActivatedAt), ts(k.RetireAt), k.KID); err != nil {
				return fmt.Errorf("update key %q to %s: %w", k.KID, k.State, translate(err))
			}
			if err := appendChange(ctx, tx, storage.EntityKey, k.KID); err != nil {
				return err
			}
		}
		for _, k := range create {
			if _, err := tx.Exec(ctx,
				"INSERT INTO signing_keys ("+keyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
				k.KID, k.Alg, k.State, list(k.PrivateKey), list(k.PublicJWK),
				ts(k.CreatedAt), ts(k.ActivatedAt), ts(k.RetireAt)); err != nil {
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
