// Package server wires gatehouse together: it opens storage, resolves the
// master key, loads the signing keys and the in-memory catalog, mounts the
// endpoints of DESIGN §1 on an http.Server with timeouts and size limits,
// follows the change feed, rotates the signing keys on schedule (one instance
// at a time, under the key-rotation lease), and shuts down gracefully.
package server
