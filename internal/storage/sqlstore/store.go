package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// writeRetries is how often a write transaction whose failure the flavor
// calls retryable is run again.
const writeRetries = 3

// Store is a storage.Storage on a database/sql pool, speaking its Flavor's
// dialect. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	f  *Flavor
	// writeSem serialises this Store's writes when the flavor has a single
	// writer, so that they queue here instead of polling the busy handler;
	// writers of other processes are still kept apart by the database.
	writeSem chan struct{}
}

var _ storage.Storage = (*Store)(nil)

// New returns a Store on db, which speaks f. It does not migrate: call
// Migrate.
func New(db *sql.DB, f *Flavor) *Store {
	return &Store{db: db, f: f, writeSem: make(chan struct{}, 1)}
}

// DB returns the Store's pool, for a dialect's own statements and tests.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks that the database can be queried.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.f.Name, s.unavailable(err))
	}
	return nil
}

// Close closes the pool once the queries in flight have finished; calling
// it again is harmless.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.f.Name, err)
	}
	return nil
}

// write runs fn in a write transaction that appends to the change feed: it
// takes the flavor's change lock first and announces the change last.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.update(ctx, func(tx *sql.Tx) error { return s.changing(ctx, tx, fn) })
}

// changing runs fn, which appends to the change feed, in tx: it takes the
// flavor's change lock first and announces the change last. write's body,
// for a transaction that learns only midway that it changes the feed (a
// refresh rotation that finds a reuse).
func (s *Store) changing(ctx context.Context, tx *sql.Tx, fn func(tx *sql.Tx) error) error {
	if s.f.ChangeLock != "" {
		if _, err := tx.ExecContext(ctx, s.f.ChangeLock); err != nil {
			return fmt.Errorf("take change lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if s.f.AnnounceChange != "" {
		if _, err := tx.ExecContext(ctx, s.f.AnnounceChange); err != nil {
			return fmt.Errorf("announce change: %w", err)
		}
	}
	return nil
}

// update runs fn in a write transaction and commits it, or rolls it back if
// fn fails; a retryable failure runs it again.
func (s *Store) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.f.SingleWriter {
		select {
		case s.writeSem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-s.writeSem }()
	}
	for attempt := 0; ; attempt++ {
		err := s.inTx(ctx, nil, fn)
		if err == nil || attempt >= writeRetries || s.f.Retryable == nil || !s.f.Retryable(err) || ctx.Err() != nil {
			return s.unavailable(err)
		}
	}
}

// read runs fn in a read-only transaction, so that its queries see one
// snapshot of the database.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.unavailable(s.inTx(ctx, s.f.ReadTx, fn))
}

func (s *Store) inTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, opts)
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

// exec runs one statement that appends nothing to the change feed: in a
// write transaction for a single-writer flavor, else on its own.
func (s *Store) exec(ctx context.Context, query string, args ...any) (n int64, err error) {
	if s.f.SingleWriter {
		err = s.update(ctx, func(tx *sql.Tx) error {
			n, err = affected(tx.ExecContext(ctx, query, args...))
			return err
		})
		return n, err
	}
	n, err = affected(s.db.ExecContext(ctx, query, args...))
	return n, s.unavailable(err)
}

// affected returns how many rows res changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// mustAffect returns storage.ErrNotFound unless res changed a row.
func mustAffect(res sql.Result, err error) error {
	n, err := affected(res, err)
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	return err
}

// appendChange records a change of the entity in the change feed. It must
// run inside write.
func (s *Store) appendChange(ctx context.Context, tx *sql.Tx, entity, id string) error {
	if _, err := tx.ExecContext(ctx, "INSERT INTO changes (entity, id, changed_at) VALUES ($1, $2, $3)",
		entity, id, s.f.Time(time.Now())); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return nil
}

// translate maps a constraint violation to its storage sentinel (in place
// of the driver's error) and marks an unavailable database; other errors
// are returned as they are.
func (s *Store) translate(err error) error {
	if err == nil {
		return nil
	}
	switch c := s.f.Classify(err); c {
	case storage.ErrAlreadyExists, storage.ErrNotFound:
		return c
	}
	return s.unavailable(err)
}

// unavailable wraps err with storage.ErrUnavailable if the flavor says the
// database cannot be reached or is not answering.
func (s *Store) unavailable(err error) error { return Unavailable(s.f, err) }

// Unavailable wraps err with storage.ErrUnavailable if f classifies it so
// (and it is not wrapped yet), keeping the driver's error for errors.As
// and the message.
func Unavailable(f *Flavor, err error) error {
	if err == nil || errors.Is(err, storage.ErrUnavailable) || f.Classify(err) != storage.ErrUnavailable {
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}

// querier is what *sql.DB and *sql.Tx share for reads.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
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

// queryOne runs query, which selects at most one row, and scans it with
// scan; storage.ErrNotFound if there is none.
func queryOne[T any](ctx context.Context, q querier, scan func(rowScanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	return v, err
}

// exists reports whether query, a SELECT of one row, finds a row.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// mustExist returns what (a "client %q" or "api %q" with its key) wrapping
// storage.ErrNotFound unless query finds a row.
func mustExist(ctx context.Context, q querier, what, key, query string) error {
	ok, err := exists(ctx, q, query, key)
	if err == nil && !ok {
		err = fmt.Errorf("%s %q: %w", what, key, storage.ErrNotFound)
	}
	return err
}

// selectAll runs query on the pool and scans every row, naming what in an error.
func selectAll[T any](ctx context.Context, s *Store, what string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	out, err := queryAll(ctx, s.db, scan, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, s.unavailable(err))
	}
	return out, nil
}

// selectOne runs query on the pool and scans its one row, naming what in an
// error; storage.ErrNotFound if there is none.
func selectOne[T any](ctx context.Context, s *Store, what string, scan func(rowScanner) (T, error), query string, args ...any) (T, error) {
	v, err := queryOne(ctx, s.db, scan, query, args...)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, s.unavailable(err))
	}
	return v, nil
}
