package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlstore"
)

// busyTimeout is how long a connection waits for another connection or
// process to release a lock before it gives up with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// Store is a storage.Storage on one SQLite database file: the shared SQL
// store in the SQLite flavor. It is safe for concurrent use, and several
// Stores (in one or several processes) may share the same file.
type Store struct {
	*sqlstore.Store
}

var _ storage.Storage = (*Store)(nil)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// flavor is how SQLite differs: times as unix microseconds, lists as JSON
// arrays, one writer at a time (queued in process, BEGIN IMMEDIATE across
// processes), prepared multi-row INSERTs for the audit trail.
var flavor = &sqlstore.Flavor{
	Name:       "sqlite",
	Migrations: migrationFiles,
	CreateMigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`,
	HasMigrationsTable: "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'",
	SingleWriter:       true,
	ReadTx:             &sql.TxOptions{ReadOnly: true},
	Time:               micros,
	List:               jsonList,
	ListDest:           func(dst *[]string) sql.Scanner { return jsonListDest{dst} },
	Classify:           classify,
	BindByPosition:     true,
}

// Open opens the SQLite database file at path, creating it if needed, and
// migrates its schema to the newest version. Every connection runs in WAL
// mode with foreign keys on, synchronous=NORMAL and a busy timeout of five
// seconds; write transactions begin with BEGIN IMMEDIATE. The path must name
// a file: ":memory:" is refused, as each pooled connection would get a
// database of its own.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// Options tunes OpenWith.
type Options struct {
	// NoAutoCheckpoint turns SQLite's automatic checkpoints off on every
	// connection (PRAGMA wal_autocheckpoint=0): a commit then never copies
	// the WAL into the database file and fsyncs it. Whoever opens a Store so
	// must have Checkpoint run, in this process or another (serve's
	// checkpoint process, package checkpointer), or the WAL grows without
	// bound.
	NoAutoCheckpoint bool
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, o Options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, fmt.Errorf("open sqlite database: %q is not a database file path", path)
	}
	db, err := sql.Open("sqlite", dsn(path, o))
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	// Each new connection runs the pragmas again; keep a few idle ones.
	db.SetMaxIdleConns(4)
	s := &Store{sqlstore.New(db, flavor)}
	if err := s.init(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	return s, nil
}

// LatestSchemaVersion returns the version of the newest embedded migration:
// the schema version this binary migrates to.
func LatestSchemaVersion() (int, error) { return flavor.LatestSchemaVersion() }

func (s *Store) init(ctx context.Context, db *sql.DB) error {
	mode, err := journalMode(ctx, db)
	if err != nil {
		return fmt.Errorf("read journal mode: %w", sqlstore.Unavailable(flavor, err))
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal (is the file on a file system without shared memory?)", mode)
	}
	_, err = s.Migrate(ctx)
	return err
}

// journalMode opens the first connection, which runs the pragmas, and
// returns the journal mode. The first connection to a new file converts it to
// WAL, and SQLite answers a connection that races with that conversion with
// SQLITE_BUSY at once, without waiting for the busy timeout: retry for as long
// as the busy timeout would have waited.
func journalMode(ctx context.Context, db *sql.DB) (string, error) {
	deadline := time.Now().Add(busyTimeout)
	delay := 5 * time.Millisecond
	for {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
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
func dsn(path string, o Options) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	d := "file:" + escaped +
		"?_pragma=busy_timeout(" + fmt.Sprint(busyTimeout.Milliseconds()) + ")" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_txlock=immediate"
	if o.NoAutoCheckpoint {
		d += "&_pragma=wal_autocheckpoint(0)"
	}
	return d
}

// OpenForCheckpoints opens the existing database file at path for Checkpoint
// only, with one connection and no migration: the checkpoint process's
// store (package checkpointer).
func OpenForCheckpoints(ctx context.Context, path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open sqlite database: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(path, Options{}))
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := journalMode(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	return db, nil
}

// Checkpoint copies the committed frames of db's WAL into the database file
// and syncs it (PRAGMA wal_checkpoint(PASSIVE), sqlite.org/wal.html §
// Checkpointing): it waits for no reader or writer, and leaves what it
// cannot copy yet to the next one. It returns the WAL's frames and how many
// of them are now in the database file.
func Checkpoint(ctx context.Context, db *sql.DB) (frames, copied int, err error) {
	var busy int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		return 0, 0, fmt.Errorf("checkpoint: %w", err)
	}
	return frames, copied, nil
}

// classify maps SQLite's result codes: unique and primary key violations
// to storage.ErrAlreadyExists, foreign key violations (a missing client or
// API) to storage.ErrNotFound, and a database that stayed busy or locked
// past the busy timeout, failed its I/O, is full or cannot be opened to
// storage.ErrUnavailable.
func classify(err error) error {
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return storage.ErrAlreadyExists
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return storage.ErrNotFound
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
		return storage.ErrUnavailable
	}
	return nil
}

// micros encodes t as unix microseconds, NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// jsonList encodes a list as a JSON array; a nil list becomes [].
func jsonList(v []string) any {
	if v == nil {
		return "[]"
	}
	b, _ := json.Marshal(v) // a []string always encodes
	return string(b)
}

// jsonListDest decodes what jsonList encoded into *dst (empty, not nil,
// for []).
type jsonListDest struct{ dst *[]string }

func (d jsonListDest) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan %T into a list", src)
	}
	*d.dst = []string{}
	return json.Unmarshal(b, d.dst)
}
