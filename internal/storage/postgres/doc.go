// Package postgres is the PostgreSQL dialect of gatehouse's storage contract
// (storage.Storage): the scale-out backend, where any number of gatehouse
// instances share one database (ARCHITECTURE.md). The queries are the shared ones
// of package sqlstore, run through pgx's database/sql driver over a pgx
// connection pool; this package opens the pool, holds the PostgreSQL
// migrations (migrations/*.sql) and the PostgreSQL Flavor, and keeps the
// tools PostgreSQL has beyond the shared SQL: LISTEN/NOTIFY for the change
// feed and COPY for audit batches (on pgx's own connection, taken from the
// database/sql pool), arrays for last-use batches.
//
// Open runs the numbered schema migrations, each in its own transaction
// under an advisory lock, so that instances starting at once migrate safely,
// and refuses a schema newer than it knows. The tables live in the
// connection's current schema (search_path), and the advisory locks are
// keyed by that schema, so separate deployments or test runs may share a
// database.
//
// Every write that changes what the token endpoint may answer is one
// transaction that also appends its rows to the change feed. Change
// sequence numbers come from an identity column, which hands out numbers
// before commit; so every such transaction first takes a transaction-level
// advisory lock (the change lock) and holds it until it commits: writes
// commit in sequence order, and a follower never sees change N after N+1.
// Each write also sends pg_notify on Channel, delivered on commit;
// Notifications turns those into wake-ups for a follower, which keeps
// polling as the fallback. Writes are retried after a serialization
// failure or a deadlock. Errors are translated by SQLSTATE into
// storage.ErrAlreadyExists (23505) and storage.ErrNotFound (23503); a
// connection refused, reset or lost, a connection exception (class 08) or
// a server shutting down (57P01-57P03) into storage.ErrUnavailable.
//
// Times are stored as timestamptz and come back as UTC time.Time values
// truncated to the microsecond; the zero time.Time is stored as NULL.
// Token lifetimes are stored in whole seconds; lists (grant types, grant
// scopes) as text[], API scopes as jsonb. Identifiers use the "C" collation,
// so listings order as the SQLite backend's do.
package postgres
