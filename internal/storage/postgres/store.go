package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Advisory lock classes (the first key of the two-key advisory locks); the
// second key is hashtext(current_schema()), so deployments in different
// schemas of one database do not contend.
const (
	// lockChanges serialises the write transactions that append to the
	// change feed, so that they commit in sequence order.
	lockChanges = 0x67680001
	// lockMigrate serialises schema migrations.
	lockMigrate = 0x67680002
)

// Channel is the LISTEN/NOTIFY channel on which every write transaction that
// appends to the change feed announces its newest sequence number.
const Channel = "gatehouse_changes"

// writeRetries is how often a write transaction that failed with a
// serialization failure or a deadlock is run again.
const writeRetries = 3

// Store is a storage.Storage on a PostgreSQL database, through a pgx
// connection pool. It is safe for concurrent use, and any number of Stores
// (in one or several processes) may share one database and schema.
type Store struct {
	pool     *pgxpool.Pool
	connConf *pgx.ConnConfig // for the listener's own connections

	life context.Context // cancelled by Close: stops the listeners
	stop context.CancelFunc
	wg   sync.WaitGroup
}

var _ storage.Storage = (*Store)(nil)

// defaultConnectTimeout bounds each connection attempt when the DSN sets no
// connect_timeout, so that a command against an unreachable server fails
// instead of hanging for the operating system's TCP timeout.
const defaultConnectTimeout = 10 * time.Second

// defaultPingTimeout bounds the liveness ping the pool sends on a connection
// that has been idle for over a second before handing it out, when the DSN
// sets no pool_ping_timeout: a connection that died without a reset is then
// dropped after two seconds, and the pool tries another, instead of holding
// the caller until its own deadline.
const defaultPingTimeout = 2 * time.Second

// Open connects to the PostgreSQL database that dsn names (a postgres:// or
// postgresql:// URL, or key=value pairs, as pgx accepts them) and migrates
// its schema to the newest version. The tables live in the connection's
// current schema: a search_path parameter in the DSN selects another one.
// Without a connect_timeout in the DSN each connection attempt gives up
// after ten seconds; without a pool_ping_timeout the pool's liveness ping of
// an idle connection after two.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres database: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if cfg.PingTimeout == 0 {
		cfg.PingTimeout = defaultPingTimeout
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig is Open with a parsed pool configuration; cfg must not be
// changed afterwards.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres database %s: %w", where, err)
	}
	life, stop := context.WithCancel(context.Background())
	s := &Store{pool: pool, connConf: cfg.ConnConfig.Copy(), life: life, stop: stop}
	if err := s.init(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open postgres database %s: %w", where, err)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	var schema *string
	if err := s.pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return err
	}
	if schema == nil {
		return errors.New("no schema: the search_path names no existing schema")
	}
	_, err := s.Migrate(ctx)
	return err
}

// Ping checks that the database can be queried.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Close stops the change listeners and closes the pool once the queries in
// flight have finished; calling it again is harmless.
func (s *Store) Close() error {
	s.stop()
	s.wg.Wait()
	s.pool.Close()
	return nil
}

// Pool exposes the connection pool, for tests and diagnostics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// write runs fn in a write transaction that appends to the change feed, and
// commits it, or rolls it back if fn fails. The transaction first takes the
// change lock, which it holds until it commits: the writers of every
// instance take their sequence numbers and commit one after another, so a
// follower never sees a change before an earlier one. It announces the
// newest change on Channel; the notification is delivered on commit.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.retry(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			"SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", lockChanges); err != nil {
			return fmt.Errorf("take change lock: %w", err)
		}
		if err := fn(tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx,
			"SELECT pg_notify($1, COALESCE(max(seq), 0)::text) FROM changes", Channel); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		return nil
	})
}

// retry runs fn in a transaction and commits it, running it again after a
// serialization failure or a deadlock.
func (s *Store) retry(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || attempt >= writeRetries || !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

// read runs fn in a read-only repeatable-read transaction, so that its
// queries see one snapshot of the database.
func (s *Store) read(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// appendChange records a change of the entity in the change feed. It must
// run inside write.
func appendChange(ctx context.Context, tx pgx.Tx, entity, id string) error {
	if _, err := tx.Exec(ctx, "INSERT INTO changes (entity, id) VALUES ($1, $2)", entity, id); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return nil
}

// SQLSTATE codes that write and translate look at.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// translate maps constraint violations to the storage sentinels: unique
// violations to ErrAlreadyExists, foreign key violations (a missing client
// or API) to ErrNotFound. Other errors are returned as they are.
func translate(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case codeUniqueViolation:
		return storage.ErrAlreadyExists
	case codeForeignKeyViolation:
		return storage.ErrNotFound
	}
	return err
}

// retryable reports whether err is a serialization failure or a deadlock,
// after which the transaction may simply run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// mustAffect returns ErrNotFound unless tag reports at least one changed row.
func mustAffect(tag pgconn.CommandTag) error {
	if tag.RowsAffected() == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// exists reports whether query, a SELECT of one row, finds a row.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRow(ctx, query, args...).Scan(&one)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// querier is what *pgxpool.Pool and pgx.Tx share for reads.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queryAll runs query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// queryOne runs query, which selects at most one row, and scans it with
// scan; storage.ErrNotFound if there is none.
func queryOne[T any](ctx context.Context, q querier, scan func(pgx.Row) (T, error), query string, args ...any) (T, error) {
	v, err := scan(q.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		err = storage.ErrNotFound
	}
	return v, err
}

// ts encodes t for a timestamptz column: truncated to the microsecond, NULL
// for the zero time.
func ts(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.Truncate(time.Microsecond).UTC()
	return &u
}

// fromTS decodes what ts encoded, as a UTC time.
func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// toJSON encodes a list as a JSON array; a nil list becomes [].
func toJSON[T any](v []T) ([]byte, error) {
	if v == nil {
		v = []T{}
	}
	return json.Marshal(v)
}

// fromJSON decodes a JSON array into a list.
func fromJSON[T any](b []byte) ([]T, error) {
	v := []T{}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// list returns v, or an empty non-nil slice for nil, which pgx would
// otherwise send as NULL.
func list[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
