// Package catalog keeps the in-memory view of clients, their secrets and
// grants, and APIs that the token hot path reads (ARCHITECTURE.md). A Snapshot is
// immutable and published through an atomic pointer; a follower reads the
// storage change feed and applies each change incrementally (the changed
// client or API is reloaded, never the whole catalog), so that a change made
// by any process on the same database — the command line, another instance —
// is seen within one polling interval. Clients are held in a persistent
// hash trie, so the snapshot after a change shares all but one path with
// the one before: publishing it costs O(log32 clients), not a copy of every
// client. The first load reads everything in four queries. Usage records when secrets were last
// used and writes those times in batches, off the hot path.
package catalog
