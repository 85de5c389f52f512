package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// DeleteTokenEventsBefore deletes the per-token events (storage.TokenActions)
// older than t.
func (s *Store) DeleteTokenEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := s.exec(ctx, "DELETE FROM audit_events WHERE at < $1 AND action IN ($2, $3)",
		s.f.Time(t), storage.TokenActions[0], storage.TokenActions[1])
	if err != nil {
		return 0, fmt.Errorf("delete token events before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// AddTokenCounts adds counts to the stored ones in one write transaction,
// in the order of their keys, so that two instances adding at once lock
// the rows they share in the same order.
func (s *Store) AddTokenCounts(ctx context.Context, counts ...storage.TokenCount) error {
	for _, c := range counts {
		if err := storage.CheckTokenCount(c); err != nil {
			return fmt.Errorf("add token counts: %w", err)
		}
	}
	if len(counts) == 0 {
		return nil
	}
	sorted := storage.SortTokenCounts(counts)
	err := s.update(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO token_counts (hour, client_id, audience, issued, reused, refused)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hour, client_id, audience) DO UPDATE SET
			issued = token_counts.issued + excluded.issued, reused = token_counts.reused + excluded.reused,
			refused = token_counts.refused + excluded.refused`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, c := range sorted {
			if _, err := st.ExecContext(ctx, s.f.Time(c.Hour), c.ClientID, c.Audience, c.Issued, c.Reused, c.Refused); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add token counts: %w", err)
	}
	return nil
}

// ListTokenCounts returns the counts that match f, newest hour first.
func (s *Store) ListTokenCounts(ctx context.Context, f storage.TokenCountFilter) ([]storage.TokenCount, error) {
	var (
		where []string
		args  []any
	)
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+"$"+strconv.Itoa(len(args)))
	}
	if f.ClientID != "" {
		arg("client_id = ", f.ClientID)
	}
	if f.Audience != "" {
		arg("audience = ", f.Audience)
	}
	if !f.Since.IsZero() {
		arg("hour >= ", s.f.Time(f.Since))
	}
	if !f.Until.IsZero() {
		arg("hour < ", s.f.Time(f.Until))
	}
	q := "SELECT hour, client_id, audience, issued, reused, refused FROM token_counts"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return selectAll(ctx, s, "list token counts", func(r rowScanner) (c storage.TokenCount, err error) {
		return c, r.Scan(at(&c.Hour), &c.ClientID, &c.Audience, &c.Issued, &c.Reused, &c.Refused)
	}, q+" ORDER BY hour DESC, client_id, audience", args...)
}

// DeleteTokenCountsBefore deletes the counts of hours before t.
func (s *Store) DeleteTokenCountsBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := s.exec(ctx, "DELETE FROM token_counts WHERE hour < $1", s.f.Time(t))
	if err != nil {
		return 0, fmt.Errorf("delete token counts before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}
