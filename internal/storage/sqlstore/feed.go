package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// MarkFeedRead records reader's position and returns the prune mark, in
// one write transaction.
func (s *Store) MarkFeedRead(ctx context.Context, reader string, seq int64, now time.Time) (int64, error) {
	if err := storage.CheckFeedReader(reader, seq, now); err != nil {
		return 0, fmt.Errorf("mark feed read: %w", err)
	}
	var mark int64
	err := s.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO feed_readers (reader, seq, seen_at) VALUES ($1, $2, $3)
			ON CONFLICT (reader) DO UPDATE SET seq = excluded.seq, seen_at = excluded.seen_at`,
			reader, seq, s.f.Time(now)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT pruned_through FROM feed_state").Scan(&mark)
	})
	if err != nil {
		return 0, fmt.Errorf("mark feed read by %q: %w", reader, err)
	}
	return mark, nil
}

// PruneChanges forgets stale readers and deletes the changes every other
// reader has read, in one write transaction that holds feed_state's row
// (the flavor's ForUpdate), so that two instances pruning at once take
// turns.
func (s *Store) PruneChanges(ctx context.Context, liveSince time.Time) (mark, deleted int64, err error) {
	err = s.update(ctx, func(tx *sql.Tx) error {
		deleted = 0
		if err := tx.QueryRowContext(ctx, "SELECT pruned_through FROM feed_state"+s.f.ForUpdate).Scan(&mark); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM feed_readers WHERE seen_at < $1", s.f.Time(liveSince)); err != nil {
			return err
		}
		var least sql.NullInt64
		var latest int64
		if err := tx.QueryRowContext(ctx, "SELECT (SELECT MIN(seq) FROM feed_readers), (SELECT COALESCE(MAX(seq), 0) FROM changes)").
			Scan(&least, &latest); err != nil {
			return err
		}
		through := storage.PruneThrough(least, latest, mark)
		if through <= mark {
			return nil
		}
		n, err := affected(tx.ExecContext(ctx, "DELETE FROM changes WHERE seq <= $1", through))
		if err != nil {
			return err
		}
		deleted, mark = n, through
		_, err = tx.ExecContext(ctx, "UPDATE feed_state SET pruned_through = $1", through)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("prune changes: %w", err)
	}
	return mark, deleted, nil
}
