package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// LatestChange returns the sequence number of the newest change, 0 if none.
func (s *Store) LatestChange(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM changes").Scan(&seq); err != nil {
		return 0, fmt.Errorf("latest change: %w", s.unavailable(err))
	}
	return seq, nil
}

// ChangesSince returns up to limit changes with Seq > seq, in ascending
// order. limit must be positive. Writers commit in sequence order (the
// flavor's change lock, or SQLite's single writer), so a change with a
// lower sequence number than one already seen never appears later. When
// the feed was pruned past seq it returns storage.ErrFeedPruned.
func (s *Store) ChangesSince(ctx context.Context, seq int64, limit int) ([]storage.Change, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("changes since %d: limit %d is not positive", seq, limit)
	}
	out, err := selectAll(ctx, s, fmt.Sprintf("changes since %d", seq), func(r rowScanner) (c storage.Change, err error) {
		return c, r.Scan(&c.Seq, &c.Entity, &c.ID)
	}, changesSinceQuery, seq, limit)
	if err != nil {
		return nil, err
	}
	return storage.CheckPruned(seq, out)
}

// changesSinceQuery reads the changes after $1, at most $2, preceded by
// storage.PrunedRow when the feed was pruned past $1, in one round trip.
const changesSinceQuery = `SELECT seq, entity, id FROM changes WHERE seq > $1
	UNION ALL SELECT -1, '', '' FROM feed_state WHERE pruned_through > $1
	ORDER BY 1 LIMIT $2`
