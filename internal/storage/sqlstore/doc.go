// Package sqlstore is gatehouse's storage contract (storage.Storage)
// written once over database/sql, for every SQL database gatehouse speaks:
// each query exists in one place, and a Flavor value says what a database
// does differently — how it encodes times and lists, how it takes and
// retries its transactions, which driver errors mean
// storage.ErrAlreadyExists, storage.ErrNotFound or storage.ErrUnavailable,
// and the hooks where it has a better tool than the shared SQL (COPY and
// arrays on PostgreSQL). The dialect packages (storage/sqlite and
// storage/postgres) open the pool, hold their migrations and build their
// Flavor; one runner (Migrate) applies the migrations of either.
//
// Statements use numbered placeholders ($1, $2, …): PostgreSQL takes them
// as they are and modernc.org/sqlite binds $NNN by number, so no statement
// is rewritten at run time. Only the generated multi-row statements ask the
// flavor for their markers (Flavor.BindByPosition).
//
// Every write that changes what the token endpoint may answer is one
// transaction that also appends its rows to the change feed, under the
// flavor's change lock; a failed write appends nothing.
//
// Adding a table is a file of queries here (with a method on Store and its
// line in storage.Storage) plus one migration per dialect.
package sqlstore
