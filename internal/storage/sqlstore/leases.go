package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// AcquireLease takes, renews or takes over the lease name for holder until
// now+ttl, in one INSERT … ON CONFLICT DO UPDATE … WHERE: SQLite runs it in
// a write transaction (BEGIN IMMEDIATE), and PostgreSQL makes a concurrent
// upsert of the same name wait for the first to commit and then re-checks
// the condition against the committed row, so of concurrent callers in any
// instance at most one wins. It takes no change lock and appends nothing
// to the change feed.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	if err := storage.CheckLease(name, holder, ttl, now); err != nil {
		return false, fmt.Errorf("acquire lease: %w", err)
	}
	n, err := s.exec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= $4`,
		name, holder, s.f.Time(now.Add(ttl)), s.f.Time(now))
	if err != nil {
		return false, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	return n > 0, nil
}

// ReleaseLease deletes holder's lease name; another holder's lease, or none,
// is left alone.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.exec(ctx, "DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder); err != nil {
		return fmt.Errorf("release lease %q: %w", name, err)
	}
	return nil
}
