package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// RecordInstance stores the instance's JWKS max-age (in whole seconds) and
// when it was seen, replacing its earlier record. It appends nothing to the
// change feed.
func (s *Store) RecordInstance(ctx context.Context, in storage.Instance) error {
	if err := storage.CheckInstance(in); err != nil {
		return fmt.Errorf("record instance: %w", err)
	}
	_, err := s.exec(ctx, `INSERT INTO instances (id, jwks_max_age, seen_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET jwks_max_age = excluded.jwks_max_age, seen_at = excluded.seen_at`,
		in.ID, int64(in.JWKSMaxAge/time.Second), s.f.Time(in.SeenAt))
	if err != nil {
		return fmt.Errorf("record instance %q: %w", in.ID, err)
	}
	return nil
}

// MaxJWKSMaxAge returns the longest JWKS max-age of the instances seen at
// or after since (every instance for the zero time), 0 if there are none.
func (s *Store) MaxJWKSMaxAge(ctx context.Context, since time.Time) (time.Duration, error) {
	if since.IsZero() {
		since = time.Unix(0, 0) // every instance
	}
	var d time.Duration
	err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(jwks_max_age), 0) FROM instances WHERE seen_at >= $1",
		s.f.Time(since)).Scan(seconds{&d})
	if err != nil {
		return 0, fmt.Errorf("max jwks max-age: %w", s.unavailable(err))
	}
	return d, nil
}
