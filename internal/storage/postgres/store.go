package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlstore"
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

// Store is a storage.Storage on a PostgreSQL database: the shared SQL store
// in the PostgreSQL flavor, over a pgx connection pool through pgx's
// database/sql driver, plus the change feed's notifications. It is safe for
// concurrent use, and any number of Stores (in one or several processes)
// may share one database and schema.
type Store struct {
	*sqlstore.Store
	pool     *pgxpool.Pool
	connConf *pgx.ConnConfig // for the listener's own connections

	life context.Context // cancelled by Close: stops the listeners
	stop context.CancelFunc
	wg   sync.WaitGroup
}

var _ storage.Storage = (*Store)(nil)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// flavor is how PostgreSQL differs: times as timestamptz, lists as text[],
// writes retried after a serialization failure or a deadlock, the change
// feed's writers serialised by an advisory lock and announced by
// pg_notify, rows locked FOR UPDATE, and COPY and arrays for the batches.
var flavor = &sqlstore.Flavor{
	Name:       "postgres",
	Migrations: migrationFiles,
	CreateMigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`,
	HasMigrationsTable: "SELECT 1 WHERE to_regclass('schema_migrations') IS NOT NULL",
	MigrationLock:      fmt.Sprintf("SELECT pg_advisory_xact_lock(%d, hashtext(current_schema()))", lockMigrate),
	Retryable:          retryable,
	ReadTx:             &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	ChangeLock:         fmt.Sprintf("SELECT pg_advisory_xact_lock(%d, hashtext(current_schema()))", lockChanges),
	AnnounceChange:     "SELECT pg_notify('" + Channel + "', COALESCE(max(seq), 0)::text) FROM changes",
	ForUpdate:          " FOR UPDATE",
	Time:               ts,
	List:               textArray,
	ListDest:           func(dst *[]string) sql.Scanner { return textArrayDest{dst} },
	Classify:           classify,
	AppendAudit:        copyAudit,
	TouchSecrets:       touchSecrets,
}

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
// postgresql:// URL, or key=value pairs, as pgx accepts them, pgxpool's
// pool_* parameters included) and migrates its schema to the newest
// version. The tables live in the connection's current schema: a
// search_path parameter in the DSN selects another one. Without a
// connect_timeout in the DSN each connection attempt gives up after ten
// seconds; without a pool_ping_timeout the pool's liveness ping of an idle
// connection after two.
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
// changed afterwards. The pgx pool serves database/sql's: database/sql
// gives an idle connection back to it after a second, so that the pool's
// liveness ping (of a connection idle for over a second) runs before one
// is used again.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	cfg.BeforeClose = dropBroken(cfg.BeforeClose)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres database %s: %w", where, err)
	}
	db := stdlib.OpenDBFromPool(pool, stdlib.OptionShouldPing(func(context.Context, stdlib.ShouldPingParams) bool {
		return false // the pool pings
	}))
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	db.SetConnMaxIdleTime(time.Second)
	life, stop := context.WithCancel(context.Background())
	s := &Store{Store: sqlstore.New(db, flavor), pool: pool, connConf: cfg.ConnConfig.Copy(), life: life, stop: stop}
	if err := s.init(ctx, db); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open postgres database %s: %w", where, err)
	}
	return s, nil
}

// dropBroken wraps a pool's BeforeClose so that a connection pgx has
// already given up on (a call's context ended mid-query, a failed liveness
// ping) has its socket closed at once. pgx cleans such a connection up in
// the background, draining the socket until the server closes it or for 15
// seconds, and the pool keeps the connection's slot until that ends: on a
// socket that a partition left open but silent, every broken connection
// would hold a slot for 15 s, and with the jobs that use the database every
// second or few the pool (4 on two cores) stays full for that long after
// the database is back. A connection still healthy is closed as before,
// with a Terminate message.
func dropBroken(next func(*pgx.Conn)) func(*pgx.Conn) {
	return func(c *pgx.Conn) {
		if next != nil {
			next(c)
		}
		if c.IsClosed() {
			_ = c.PgConn().Conn().Close()
		}
	}
}

// LatestSchemaVersion returns the version of the newest embedded migration:
// the schema version this binary migrates to.
func LatestSchemaVersion() (int, error) { return flavor.LatestSchemaVersion() }

func (s *Store) init(ctx context.Context, db *sql.DB) error {
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return sqlstore.Unavailable(flavor, err)
	}
	if !schema.Valid {
		return errors.New("no schema: the search_path names no existing schema")
	}
	_, err := s.Migrate(ctx)
	return err
}

// Close stops the change listeners and closes the pool once the queries in
// flight have finished; calling it again is harmless.
func (s *Store) Close() error {
	s.stop()
	s.wg.Wait()
	err := s.Store.Close()
	s.pool.Close()
	return err
}

// Pool exposes the pgx connection pool under the Store's database/sql
// pool, for tests and diagnostics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// SQLSTATE codes that classify and retryable look at.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
)

// classify maps SQLSTATEs and connection failures: a unique violation to
// storage.ErrAlreadyExists, a foreign key violation (a missing client or
// API) to storage.ErrNotFound; a failed connection attempt (refused, timed
// out, rejected), a connection reset or lost, a connection exception
// (class 08) and a server shutting down or starting (57P01-57P03) to
// storage.ErrUnavailable.
func classify(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return storage.ErrAlreadyExists
		case codeForeignKeyViolation:
			return storage.ErrNotFound
		case codeAdminShutdown, codeCrashShutdown, codeCannotConnectNow:
			return storage.ErrUnavailable
		}
		if strings.HasPrefix(pe.Code, "08") {
			return storage.ErrUnavailable
		}
		return nil
	}
	var (
		ce *pgconn.ConnectError
		ne *net.OpError
	)
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return storage.ErrUnavailable
	}
	return nil
}

// retryable reports whether err is a serialization failure or a deadlock,
// after which the transaction may simply run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// ts encodes t for a timestamptz column: truncated to the microsecond, NULL
// for the zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Truncate(time.Microsecond).UTC()
}

// textArray encodes a list for a text[] column; nil becomes the empty
// array, which pgx would otherwise send as NULL.
func textArray(v []string) any {
	if v == nil {
		return []string{}
	}
	return v
}

// textArrayDest decodes a one-dimensional text[] in PostgreSQL's text
// output format, as database/sql receives it ({a,b,"c d","e\"f"}: array_out
// quotes an element that is empty, is NULL or holds a space, a quote, a
// backslash, a comma or a brace, and escapes quotes and backslashes in it).
// A NULL element is refused: no list column holds one.
type textArrayDest struct{ dst *[]string }

func (d textArrayDest) Scan(src any) error { return scanTextArray(src, d.dst) }

// scanTextArray decodes src, a text[] in text format, into *dst.
func scanTextArray(src any, dst *[]string) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("scan %T into a list", src)
	}
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return fmt.Errorf("scan %q: not a one-dimensional array", s)
	}
	body, out := s[1:len(s)-1], []string{}
	for i := 0; i < len(body); {
		var elem string
		if body[i] == '"' {
			var b strings.Builder
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' && i+1 < len(body) {
					i++
				}
				b.WriteByte(body[i])
			}
			if i >= len(body) {
				return fmt.Errorf("scan %q: unterminated element", s)
			}
			i++
			elem = b.String()
		} else {
			j := strings.IndexByte(body[i:], ',')
			if j < 0 {
				j = len(body) - i
			}
			elem, i = body[i:i+j], i+j
			if elem == "" || strings.EqualFold(elem, "NULL") {
				return fmt.Errorf("scan %q: empty or NULL element", s)
			}
		}
		out = append(out, elem)
		if i < len(body) {
			if body[i] != ',' || i+1 == len(body) {
				return fmt.Errorf("scan %q: malformed at byte %d", s, i+1)
			}
			i++
		}
	}
	*dst = out
	return nil
}

// copyAudit inserts events with one COPY (atomic, like any statement), in
// order, so that their IDs follow the order of events: under token load
// the recorder's batches of thousands cost one round trip and no per-row
// statement. It runs on pgx's own connection under database/sql's.
func copyAudit(ctx context.Context, db *sql.DB, events []storage.AuditEvent) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		var buf []byte
		rows := pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
			var row []any
			row, buf = sqlstore.AuditRow(ts, make([]any, 0, len(sqlstore.AuditColumns)), buf, events[i])
			return row, nil
		})
		_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{"audit_events"}, sqlstore.AuditColumns, rows)
		return err
	})
}

// touchSecrets moves the last use times of the secrets ids forward to ats
// in two statements whatever the size of the batch: one locks the rows in
// ID order, so that two instances flushing at once do not deadlock, and
// one updates them from arrays (UPDATE … FROM unnest).
func touchSecrets(ctx context.Context, tx *sql.Tx, ids []string, ats []time.Time) error {
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM client_secrets WHERE id = ANY($1::text[])
		ORDER BY id FOR UPDATE`, ids); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE client_secrets AS s SET last_used_at = t.at
		FROM unnest($1::text[], $2::timestamptz[]) AS t(id, at)
		WHERE s.id = t.id AND (s.last_used_at IS NULL OR s.last_used_at < t.at)`, ids, ats)
	return err
}
