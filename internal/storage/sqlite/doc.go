// Package sqlite is the embedded SQLite backend of gatehouse's storage
// contract (storage.Storage), built on the pure-Go driver modernc.org/sqlite so
// that gatehouse needs no cgo and nothing installed.
//
// A Store opens one database file in WAL mode with foreign keys enforced and a
// busy timeout on every connection, and runs its embedded, numbered schema
// migrations on Open. Several processes may use the same file at once (the
// command line writing while a server reads and polls the change feed): every
// write is one BEGIN IMMEDIATE transaction, which also appends the matching
// rows of the change feed, so a reader sees either all of a write or none of
// it. Driver errors are translated into storage.ErrNotFound and
// storage.ErrAlreadyExists.
//
// Times are stored as unix microseconds UTC and come back as UTC time.Time
// values truncated to the microsecond; the zero time.Time is stored as NULL.
// Token lifetimes are stored in whole seconds.
package sqlite
