// Package server wires gatehouse together: it opens storage, resolves the
// master key, loads the signing keys and the in-memory catalog, mounts the
// endpoints of docs/reference/protocol.md on an http.Server with timeouts and size limits,
// follows the change feed, rotates the signing keys on schedule (one instance
// at a time, under the key-rotation lease), and shuts down gracefully.
//
// Every request passes one middleware (observe.go) that assigns its request
// ID, resolves its client address (package clientip), caps its body, counts
// it in the server's own Prometheus registry (package metrics) by route
// pattern, and writes its access log line. The listener serves TLS when
// configured, with a certificate reloaded when its files change (tls.go).
package server
