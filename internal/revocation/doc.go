// Package revocation takes tokens back and tells resource servers whether
// a token is still good: the revocation endpoint (RFC 7009) at
// /oauth/revoke, the introspection endpoint (RFC 7662, with RFC 9701's JWT
// answers) at /oauth/introspect, and what both rest on, the denylist of
// revoked access tokens and the rights to introspect, each held in memory
// on every instance and kept in step with the database's change feed by
// the catalog (catalog.Follower). The endpoints authenticate their clients
// through the token endpoint's one client-authentication step, with its
// brute-force throttle. docs/revocation.md says how a revocation reaches
// verifiers and what it costs.
package revocation
