// Package server wires gatehouse together: it opens storage, resolves the
// master key, loads the signing keys and the in-memory catalog, mounts the
// endpoints of DESIGN §1 on an http.Server with timeouts and size limits,
// follows the change feed, and shuts down gracefully.
package server
