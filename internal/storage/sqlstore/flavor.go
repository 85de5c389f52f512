package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Flavor is what one database does differently: how it stores times and
// lists, how its transactions are taken, which errors mean what, and the
// few places where it has a better tool than the shared SQL. The queries
// themselves are written once, in this package, with numbered placeholders
// ($1, $2, …), which both PostgreSQL and modernc.org/sqlite bind by number,
// so no statement is rewritten at run time.
type Flavor struct {
	// Name names the database in errors ("sqlite", "postgres").
	Name string

	// Migrations holds the flavor's numbered schema migrations in its
	// folder migrations/ (migrations/NNNN_name.sql, as a dialect package
	// embeds them): the schema's source of truth.
	Migrations fs.FS
	// CreateMigrationsTable creates schema_migrations (version, applied_at)
	// if it does not exist.
	CreateMigrationsTable string
	// HasMigrationsTable selects a row if schema_migrations exists.
	HasMigrationsTable string
	// MigrationLock, if set, runs first in every migration's transaction
	// and holds other migrators off until it commits.
	MigrationLock string

	// SingleWriter serialises the Store's writes in process (SQLite has one
	// writer at a time: its writers queue on a channel instead of polling
	// the busy handler), and runs even a single-statement write in a
	// transaction, which the driver begins with BEGIN IMMEDIATE.
	SingleWriter bool
	// Retryable reports whether a failed write transaction may simply run
	// again (a serialization failure, a deadlock); nil for never.
	Retryable func(error) bool
	// ReadTx are the options of a snapshot read.
	ReadTx *sql.TxOptions
	// ChangeLock, if set, runs first in every write that appends to the
	// change feed and serialises those writes until they commit, for a
	// database that hands out sequence numbers before commit.
	ChangeLock string
	// AnnounceChange, if set, runs last in every write that appends to the
	// change feed (PostgreSQL's pg_notify, delivered on commit).
	AnnounceChange string
	// ForUpdate is appended to a SELECT that reads a row it will change, to
	// lock it ("" where the write transaction already excludes others).
	ForUpdate string

	// Time encodes a time for a time column; the zero time must become
	// NULL. Times are read back by timeScanner whatever the encoding.
	Time func(time.Time) any
	// List encodes a list of strings for a list column (never NULL).
	List func([]string) any
	// ListDest returns the destination of a list column, which decodes
	// the driver's value into *dst (a type the size of a pointer, so that
	// scanning a row allocates nothing for it).
	ListDest func(dst *[]string) sql.Scanner
	// Classify maps a driver error to storage.ErrAlreadyExists (a unique
	// violation), storage.ErrNotFound (a foreign key violation) or
	// storage.ErrUnavailable (the database cannot be reached or is not
	// answering), or returns nil.
	Classify func(error) error

	// AppendAudit, if set, replaces the shared multi-row INSERT of audit
	// events (PostgreSQL's COPY).
	AppendAudit func(ctx context.Context, db *sql.DB, events []storage.AuditEvent) error
	// TouchSecrets, if set, replaces the shared chunked UPDATE of last-use
	// times: it runs in one write transaction with every id in order.
	TouchSecrets func(ctx context.Context, tx *sql.Tx, ids []string, ats []time.Time) error
	// BindByPosition makes the generated multi-row statements use "?"
	// markers, bound in order, instead of "$n": modernc binds those without
	// decoding a name per parameter.
	BindByPosition bool
}

// param returns the marker of the n-th (1-based) parameter of a generated
// statement.
func (f *Flavor) param(n int) string {
	if f.BindByPosition {
		return "?"
	}
	return "$" + strconv.Itoa(n)
}

// timeScanner reads a time column into *t: NULL is the zero time, a
// time.Time (PostgreSQL's timestamptz) and unix microseconds (SQLite's
// INTEGER) become UTC.
type timeScanner struct{ t *time.Time }

func (s timeScanner) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
	case int64:
		*s.t = time.UnixMicro(v).UTC()
	case time.Time:
		*s.t = v.UTC()
	default:
		return fmt.Errorf("scan %T into a time", src)
	}
	return nil
}

// at is the destination of a time column.
func at(t *time.Time) timeScanner { return timeScanner{t} }

// seconds is the destination of a duration column stored in whole seconds.
type seconds struct{ d *time.Duration }

func (s seconds) Scan(src any) error {
	v, ok := src.(int64)
	if !ok {
		return fmt.Errorf("scan %T into seconds", src)
	}
	*s.d = time.Duration(v) * time.Second
	return nil
}

// object is the destination of a JSON object column of strings (a client's
// metadata, an event's details): {} and NULL become a nil map.
type object struct{ m *map[string]string }

// document is the destination of a column holding a JSON object that
// decodes into a T (a struct of settings: storage.APIExtras,
// storage.ClientExtras); NULL leaves the zero T.
type document[T any] struct{ v *T }

func (d document[T]) Scan(src any) error {
	var zero T
	*d.v = zero
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		return json.Unmarshal([]byte(v), d.v)
	case []byte:
		return json.Unmarshal(v, d.v)
	}
	return fmt.Errorf("scan %T into a JSON object", src)
}

func (o object) Scan(src any) error {
	*o.m = nil
	var b []byte
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan %T into a JSON object", src)
	}
	if err := json.Unmarshal(b, o.m); err != nil {
		return err
	}
	if len(*o.m) == 0 {
		*o.m = nil
	}
	return nil
}

// nonNil returns b, or an empty slice for nil, which a driver would bind as
// NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
