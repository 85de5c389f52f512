// Package metrics holds gatehouse's Prometheus metrics (docs/reference/protocol.md GET
// /metrics). Each Server owns one Metrics with its own registry — never the
// global default one — so that several servers in one process (tests) do not
// share counters.
//
// Label values are bounded: HTTP metrics are labelled by the route pattern
// that matched (never the raw path), token metrics by registered clients and
// APIs only (an unauthenticated caller cannot mint a label), up to a cap
// beyond which they are counted under "other".
package metrics
