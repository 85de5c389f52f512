// Package postgres is the PostgreSQL backend of gatehouse's storage contract
// (storage.Storage), built on jackc/pgx/v5 and its connection pool: the
// scale-out backend, where any number of gatehouse instances share one
// database (DESIGN §3).
//
// Open runs the embedded, numbered schema migrations (migrations/*.sql,
// recorded in a schema_migrations table), each in its own transaction under
// an advisory lock, so that instances starting at once migrate safely. The
// tables live in the connection's current schema (search_path), and the
// advisory locks are keyed by that schema, so separate deployments or test
// runs may share a database.
//
// Every write that changes what the token endpoint may answer is one
// transaction that also appends its rows to the change feed. Change
// sequence numbers come from an identity column, which hands out numbers
// before commit; so every such transaction first takes a transaction-level
// advisory lock (the change lock) and holds it until it commits: writes
// commit in sequence order, and a follower never sees change N after N+1.
// Each write also sends pg_notify on Channel, delivered on commit;
// Notifications turns those into wake-ups for a follower, which keeps
// polling as the fallback. Constraint violations are translated by SQLSTATE
// into storage.ErrAlreadyExists (23505) and storage.ErrNotFound (23503).
//
// Times are stored as timestamptz and come back as UTC time.Time values
// truncated to the microsecond; the zero time.Time is stored as NULL.
// Token lifetimes are stored in whole seconds; lists (grant types, grant
// scopes) as text[], API scopes as jsonb. Identifiers use the "C" collation,
// so listings order as the SQLite backend's do.
package postgres
