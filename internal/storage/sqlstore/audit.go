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

// AuditColumns are the columns AppendAudit writes, in the order of
// AuditRow's values.
var AuditColumns = []string{"at", "actor", "action", "target", "outcome", "remote_addr", "request_id", "details"}

// AuditRow appends to dst the values of e for AuditColumns, with its time
// encoded by encodeTime (a Flavor's Time) and its details as JSON in buf
// (returned for reuse).
func AuditRow(encodeTime func(time.Time) any, dst []any, buf []byte, e storage.AuditEvent) ([]any, []byte) {
	buf = storage.AppendDetailsJSON(buf[:0], e.Details)
	return append(dst, encodeTime(e.Time), e.Actor, e.Action, e.Target, e.Outcome, e.RemoteAddr, e.RequestID, string(buf)), buf
}

// auditRowsPerInsert is how many rows one prepared INSERT of the shared
// AppendAudit appends (8 parameters each, well under SQLite's limit of
// 32,766); the rest of a batch goes in one row at a time. Between two
// INSERTs the writer pauses for waiting requests (storage.YieldCPU): 16 rows
// keep each slice near 0.2 ms on one core, where 64 made the token tail at
// half load about a quarter longer (docs/performance.md).
const auditRowsPerInsert = 16

// auditInsert returns the INSERT of n audit rows in f's dialect.
func auditInsert(f *Flavor, n int) string {
	var q strings.Builder
	q.WriteString("INSERT INTO audit_events (" + strings.Join(AuditColumns, ", ") + ") VALUES ")
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for j := range AuditColumns {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString(f.param(i*len(AuditColumns) + j + 1))
		}
		q.WriteByte(')')
	}
	return q.String()
}

// AppendAudit stores events in one transaction, in order, so that their
// IDs follow the order of events; a bad event rolls the whole batch back.
// It appends nothing to the change feed. Under token load this runs once
// per flush of the audit recorder with thousands of events: the flavor's
// AppendAudit if it has one (PostgreSQL's COPY), else one write transaction
// whose statements are prepared once and executed for 64 rows at a time,
// with a pause for waiting requests between statements (storage.YieldCPU).
func (s *Store) AppendAudit(ctx context.Context, events ...storage.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	for _, e := range events {
		if err := storage.CheckAuditEvent(e); err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
	}
	var err error
	if s.f.AppendAudit != nil {
		err = s.unavailable(s.f.AppendAudit(ctx, s.db, events))
	} else {
		err = s.update(ctx, func(tx *sql.Tx) error { return s.insertAudit(ctx, tx, events) })
	}
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// insertAudit inserts events with prepared multi-row INSERTs.
func (s *Store) insertAudit(ctx context.Context, tx *sql.Tx, events []storage.AuditEvent) error {
	var many, one *sql.Stmt
	defer func() {
		for _, st := range []*sql.Stmt{many, one} {
			if st != nil {
				_ = st.Close()
			}
		}
	}()
	args := make([]any, 0, len(AuditColumns)*auditRowsPerInsert)
	var buf []byte
	for len(events) > 0 {
		n, st := auditRowsPerInsert, &many
		if len(events) < n {
			n, st = 1, &one
		}
		if *st == nil {
			var err error
			if *st, err = tx.PrepareContext(ctx, auditInsert(s.f, n)); err != nil {
				return err
			}
		}
		args = args[:0]
		for _, e := range events[:n] {
			args, buf = AuditRow(s.f.Time, args, buf, e)
		}
		if _, err := (*st).ExecContext(ctx, args...); err != nil {
			return err
		}
		events = events[n:]
		if n > 1 {
			storage.YieldCPU()
		}
	}
	return nil
}

// ListAudit returns the events that match f, newest first.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, error) {
	q, args := s.listAuditQuery(f)
	return selectAll(ctx, s, "list audit", scanAudit, q, args...)
}

// listAuditQuery is ListAudit's SELECT for f and its arguments.
func (s *Store) listAuditQuery(f storage.AuditFilter) (string, []any) {
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
	if f.Actor != "" {
		where = append(where, "actor = "+arg(f.Actor))
	}
	if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= "+arg(s.f.Time(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < "+arg(s.f.Time(f.Until)))
	}
	q := "SELECT id, at, actor, action, target, outcome, remote_addr, request_id, details FROM audit_events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
		if f.Offset > 0 {
			q += " OFFSET " + arg(f.Offset)
		}
	}
	return q, args
}

// DeleteAuditBefore deletes the events older than t.
func (s *Store) DeleteAuditBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := s.exec(ctx, "DELETE FROM audit_events WHERE at < $1", s.f.Time(t))
	if err != nil {
		return 0, fmt.Errorf("delete audit events before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

func scanAudit(r rowScanner) (e storage.AuditEvent, err error) {
	return e, r.Scan(&e.ID, at(&e.Time), &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.RemoteAddr, &e.RequestID, object{&e.Details})
}
