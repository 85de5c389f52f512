// Package throttle holds the token endpoint's abuse limits: brute-force
// protection of client authentication (RFC 6749 §2.3.1 "MUST protect
// against brute force attacks"; RFC 6819 §5.1.4.2.3; RFC 9700 §2.5) and
// per-client issuance quotas. Both are token buckets in bounded, sharded,
// in-memory tables keyed by values that do not allocate on lookup, so they
// cost the hot path a map lookup and a mutex, and a flood of random client
// IDs or addresses cannot grow them without bound.
package throttle
