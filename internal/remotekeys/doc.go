// Package remotekeys fetches and caches JSON Web Key Sets (RFC 7517 §5)
// that others publish: a private_key_jwt client's jwks_uri (RFC 7591 §2),
// a trusted issuer's jwks_uri (RFC 8414 §2). It is made for a request path
// that must not wait long nor be turned against the server: every fetch
// has a timeout and a size limit, follows no redirect and takes https only
// (unless InsecureAllowHTTP), the default client never connects to a
// loopback (unless AllowLoopback), link-local, unspecified or multicast
// address (NewClient), one fetch per URL runs at a time however many
// requests ask (single flight), a set is kept for TTL and served stale for
// StaleFor while a refetch fails, a key ID the cached set lacks triggers a
// refetch at most once per MinRefetch per URL (so a stream of made-up kids
// costs one fetch per MinRefetch), and at most MaxEntries URLs are cached.
// Keys of a type go-jose does not know, and private or symmetric keys,
// are dropped from a fetched set rather than failing it.
package remotekeys
