// Package checkpointer runs SQLite's WAL checkpoints for serve in a child
// process. A checkpoint copies the write-ahead log into the database file and
// fsyncs it, which can take milliseconds to tens of milliseconds on a busy
// disk; a Go program that makes that system call holds its processor until
// the runtime's monitor notices (up to 10–20 ms), and with one core that stalls
// every token request in the process for as long. serve therefore opens its
// database with automatic checkpoints off (sqlite.Options.NoAutoCheckpoint)
// and Run starts the same executable again as a small process that runs a
// passive checkpoint every second (PRAGMA wal_checkpoint(PASSIVE): it waits
// for no reader or writer). The child exits when its standard input, a pipe
// that only serve holds open, reaches end of file, so it never outlives serve.
// While no child runs (it could not start, or it stopped and waits for its
// restart), Run checkpoints in process, so the WAL never grows without bound.
package checkpointer
