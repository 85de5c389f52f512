package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// auditRowsPerInsert is how many rows one prepared INSERT appends (8
// parameters each, well under SQLite's limit of 32766); the rest of a batch
// goes in one row at a time.
const auditRowsPerInsert = 64

const auditInsert = "INSERT INTO audit_events (at, actor, action, target, outcome, remote_addr, request_id, details) VALUES "

// auditInsertOne and auditInsertMany are the INSERTs of one row and of
// auditRowsPerInsert rows.
const auditInsertOne = auditInsert + "(?, ?, ?, ?, ?, ?, ?, ?)"

var auditInsertMany = auditInsert + strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", auditRowsPerInsert-1) + "(?, ?, ?, ?, ?, ?, ?, ?)"

// AppendAudit inserts events in one write transaction, in order, so their
// IDs follow the order of events. It appends nothing to the change feed.
// Under token load this runs once per flush of the audit recorder with
// thousands of events: each statement is prepared once per transaction and
// executed for 64 rows at a time, with a pause for waiting requests between
// statements (storage.YieldCPU), and every index of the table grows at its
// end (migration 0008). A bad event rolls the whole batch back.
func (s *Store) AppendAudit(ctx context.Context, events ...storage.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var many, one *sql.Stmt
		defer func() {
			for _, st := range []*sql.Stmt{many, one} {
				if st != nil {
					_ = st.Close()
				}
			}
		}()
		args := make([]any, 0, 8*auditRowsPerInsert)
		var buf []byte
		for len(events) > 0 {
			n, st, q := auditRowsPerInsert, &many, auditInsertMany
			if len(events) < n {
				n, st, q = 1, &one, auditInsertOne
			}
			if *st == nil {
				var err error
				if *st, err = tx.PrepareContext(ctx, q); err != nil {
					return err
				}
			}
			args = args[:0]
			for _, e := range events[:n] {
				if err := storage.CheckAuditEvent(e); err != nil {
					return err
				}
				buf = storage.AppendDetailsJSON(buf[:0], e.Details)
				args = append(args, e.Time.UnixMicro(), e.Actor, e.Action, e.Target, e.Outcome, e.RemoteAddr, e.RequestID, string(buf))
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
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// ListAudit returns the events that match f, newest first.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, error) {
	q, args := listAuditQuery(f)
	out, err := queryAll(ctx, s.db, scanAudit, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// listAuditQuery is ListAudit's SELECT for f and its arguments.
func listAuditQuery(f storage.AuditFilter) (string, []any) {
	var (
		where []string
		args  []any
	)
	if f.ClientID != "" {
		where = append(where, "(actor = ? OR target = ?)")
		args = append(args, f.ClientID, f.ClientID)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		where = append(where, "at < ?")
		args = append(args, f.Until.UnixMicro())
	}
	q := "SELECT id, at, actor, action, target, outcome, remote_addr, request_id, details FROM audit_events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return q, args
}

// DeleteAuditBefore deletes the events older than t.
func (s *Store) DeleteAuditBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM audit_events WHERE at < ?", t.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete audit events before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

func scanAudit(r rowScanner) (storage.AuditEvent, error) {
	var (
		e       storage.AuditEvent
		at      int64
		details string
	)
	if err := r.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.RemoteAddr, &e.RequestID, &details); err != nil {
		return storage.AuditEvent{}, err
	}
	e.Time = time.UnixMicro(at).UTC()
	if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
		return storage.AuditEvent{}, fmt.Errorf("audit event %d: details: %w", e.ID, err)
	}
	if len(e.Details) == 0 {
		e.Details = nil
	}
	return e, nil
}
