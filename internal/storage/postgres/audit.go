package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// AppendAudit inserts events with one COPY (atomic, like any statement), in
// order, so their IDs follow the order of events: under token load the
// recorder's batches of thousands cost one round trip and no per-row
// statement. It takes no change lock and appends nothing to the change feed.
func (s *Store) AppendAudit(ctx context.Context, events ...storage.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	for _, e := range events {
		if err := storage.CheckAuditEvent(e); err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
	}
	var buf []byte
	rows := pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
		e := events[i]
		buf = storage.AppendDetailsJSON(buf[:0], e.Details)
		return []any{ts(e.Time), e.Actor, e.Action, e.Target, e.Outcome, e.RemoteAddr, e.RequestID, string(buf)}, nil
	})
	if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"audit_events"}, auditColumns, rows); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

var auditColumns = []string{"at", "actor", "action", "target", "outcome", "remote_addr", "request_id", "details"}

// ListAudit returns the events that match f, newest first.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.ClientID != "" {
		p := arg(f.ClientID)
		where = append(where, "(actor = "+p+" OR target = "+p+")")
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= "+arg(ts(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < "+arg(ts(f.Until)))
	}
	q := "SELECT id, at, actor, action, target, outcome, remote_addr, request_id, details FROM audit_events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	out, err := queryAll(ctx, s.pool, scanAudit, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// DeleteAuditBefore deletes the events older than t.
func (s *Store) DeleteAuditBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM audit_events WHERE at < $1", ts(t))
	if err != nil {
		return 0, fmt.Errorf("delete audit events before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	return tag.RowsAffected(), nil
}

func scanAudit(r pgx.Row) (storage.AuditEvent, error) {
	var (
		e       storage.AuditEvent
		at      *time.Time
		details []byte
	)
	if err := r.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.RemoteAddr, &e.RequestID, &details); err != nil {
		return storage.AuditEvent{}, err
	}
	e.Time = fromTS(at)
	if err := json.Unmarshal(details, &e.Details); err != nil {
		return storage.AuditEvent{}, fmt.Errorf("audit event %d: details: %w", e.ID, err)
	}
	if len(e.Details) == 0 {
		e.Details = nil
	}
	return e, nil
}
