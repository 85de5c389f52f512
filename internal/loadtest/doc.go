// Package loadtest is a closed-loop load generator for OAuth 2.0 token
// endpoints (RFC 6749 §4.4, the client credentials grant): a fixed number of
// workers each send one token request, wait for the answer and send the next,
// over keep-alive connections, cycling round-robin through many clients'
// credentials. It counts tokens and errors by HTTP status and records every
// latency in a log-linear histogram, from which it reports percentiles.
//
// It knows nothing about gatehouse beyond the wire protocol, so it measures
// any client-credentials server; the command line wraps it as
// `gatehouse bench`.
package loadtest
