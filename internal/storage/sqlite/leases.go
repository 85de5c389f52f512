package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// AcquireLease takes, renews or takes over the lease name for holder until
// now+ttl, in one upsert inside a write transaction (BEGIN IMMEDIATE), so
// that of concurrent callers in any process at most one wins. It appends
// nothing to the change feed.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	if err := storage.CheckLease(name, holder, ttl, now); err != nil {
		return false, fmt.Errorf("acquire lease: %w", err)
	}
	var took bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4`,
			name, holder, now.Add(ttl).UnixMicro(), now.UnixMicro())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		took = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	return took, nil
}

// ReleaseLease deletes holder's lease name; another holder's lease, or none,
// is left alone.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM leases WHERE name = ? AND holder = ?", name, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease %q: %w", name, err)
	}
	return nil
}
