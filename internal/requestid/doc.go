// Package requestid gives each HTTP request an identifier that ties its
// access log line, its other log lines and its audit events together, and
// that is echoed in the X-Request-Id response header so a caller can quote
// it. An incoming X-Request-Id (set by a load balancer or the caller) is kept
// when it is sane — at most 128 printable ASCII characters — so one ID
// follows a request across services; anything else is replaced by a fresh
// random one.
package requestid
