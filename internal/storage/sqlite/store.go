package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// busyTimeout is how long a connection waits for another connection or
// process to release a lock before it gives up with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// Store is a storage.Storage on one SQLite database file. It is safe for
// concurrent use, and several Stores (in one or several processes) may share
// the same file.
type Store struct {
	db *sql.DB
	// writeSem serializes this Store's write transactions, so that writers
	// of one process queue here instead of polling SQLite's busy handler;
	// writers of other processes are still kept apart by BEGIN IMMEDIATE.
	writeSem chan struct{}
}

var _ storage.Storage = (*Store)(nil)

// Open opens the SQLite database file at path, creating it if needed, and
// migrates its schema to the newest version. Every connection runs in WAL
// mode with foreign keys on, synchronous=NORMAL and a busy timeout of five
// seconds; write transactions begin with BEGIN IMMEDIATE. The path must name
// a file: ":memory:" is refused, as each pooled connection would get a
// database of its own.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, fmt.Errorf("open sqlite database: %q is not a database file path", path)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	// Each new connection runs the pragmas again; keep a few idle ones.
	db.SetMaxIdleConns(4)
	s := &Store{db: db, writeSem: make(chan struct{}, 1)}
	if err := s.init(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	mode, err := s.journalMode(ctx)
	if err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal (is the file on a file system without shared memory?)", mode)
	}
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	return nil
}

// journalMode opens the first connection, which runs the pragmas, and
// returns the journal mode. The first connection to a new file converts it to
// WAL, and SQLite answers a connection that races with that conversion with
// SQLITE_BUSY at once, without waiting for the busy timeout: retry for as long
// as the busy timeout would have waited.
func (s *Store) journalMode(ctx context.Context) (string, error) {
	deadline := time.Now().Add(busyTimeout)
	delay := 5 * time.Millisecond
	for {
		var mode string
		err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return mode, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// isBusy reports whether err is SQLITE_BUSY (of any extended kind).
func isBusy(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// dsn returns the modernc.org/sqlite data source name for the file at path.
// The path becomes a SQLite URI filename, in which '%', '?' and '#' must be
// escaped.
func dsn(path string) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + escaped +
		"?_pragma=busy_timeout(" + fmt.Sprint(busyTimeout.Milliseconds()) + ")" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_txlock=immediate"
}

// Ping checks that the database can be queried.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close closes the database once the queries in flight have finished;
// calling it again is harmless.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}

// write runs fn in a write transaction (BEGIN IMMEDIATE) and commits it, or
// rolls it back if fn fails.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writeSem }()

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// read runs fn in a read-only (deferred) transaction, so that its queries
// see one snapshot of the database.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// appendChange records a change of the entity in the change feed.
func appendChange(ctx context.Context, tx *sql.Tx, entity, id string) error {
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO changes (entity, id, changed_at) VALUES (?, ?, ?)",
		entity, id, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return nil
}

// translate maps constraint violations to the storage sentinels: unique and
// primary key violations to ErrAlreadyExists, foreign key violations (a
// missing client or API) to ErrNotFound. Other errors are returned as they
// are.
func translate(err error) error {
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return storage.ErrAlreadyExists
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return storage.ErrNotFound
	}
	return err
}

// mustAffect returns ErrNotFound unless res reports at least one changed row.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// exists reports whether query, a SELECT of one row, finds a row.
func exists(ctx context.Context, tx *sql.Tx, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// querier is what *sql.DB and *sql.Tx share for reads.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// toMicros encodes t as unix microseconds, NULL for the zero time.
func toMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// fromMicros decodes what toMicros encoded, as a UTC time.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// toJSON encodes a list as a JSON array; a nil list becomes [].
func toJSON[T any](v []T) (string, error) {
	if v == nil {
		v = []T{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// fromJSON decodes a JSON array into a list (empty, not nil, for []).
func fromJSON[T any](s string) ([]T, error) {
	v := []T{}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// blob returns b, or an empty non-nil slice for nil, which the driver would
// otherwise bind as NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
