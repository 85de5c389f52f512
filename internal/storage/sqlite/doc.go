// Package sqlite is the embedded SQLite dialect of gatehouse's storage
// contract (storage.Storage), built on the pure-Go driver modernc.org/sqlite so
// that gatehouse needs no cgo and nothing installed. The queries are the
// shared ones of package sqlstore; this package opens the database, holds the
// SQLite migrations (migrations/*.sql, the schema's source of truth) and the
// SQLite Flavor.
//
// A Store opens one database file in WAL mode with foreign keys enforced and a
// busy timeout on every connection, and runs the numbered schema migrations
// on Open, refusing a database whose schema is newer than it knows. Several
// processes may use the same file at once (the command line writing while a
// server reads and polls the change feed): every write is one BEGIN IMMEDIATE
// transaction, queued in process so that one writer at a time asks for the
// lock, which also appends the matching rows of the change feed, so a reader
// sees either all of a write or none of it. Audit batches go in with prepared
// 64-row INSERTs, last-use times with 500-row UPDATEs, each yielding the CPU
// between statements. Driver errors are translated into storage.ErrNotFound,
// storage.ErrAlreadyExists and, for a database that stayed busy or locked
// past the busy timeout or failed its I/O, storage.ErrUnavailable.
//
// Times are stored as unix microseconds UTC and come back as UTC time.Time
// values truncated to the microsecond; the zero time.Time is stored as NULL.
// Token lifetimes are stored in whole seconds; lists as JSON arrays.
package sqlite
