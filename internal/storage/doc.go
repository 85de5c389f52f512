// Package storage defines the persistence contract of gatehouse: the value
// types of ARCHITECTURE.md (APIs, clients, client secrets, client grants, signing
// keys), the Storage interface that every backend implements, the sentinel
// errors ErrNotFound, ErrAlreadyExists and ErrUnavailable into which backends
// translate their driver errors, and the change feed (a monotonically
// increasing sequence of Change records) that every gatehouse instance
// follows to keep its in-memory catalog in step with the database. The
// backends are one SQL store (storage/sqlstore) in two dialects
// (storage/sqlite, storage/postgres).
package storage
