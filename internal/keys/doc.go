// Package keys manages gatehouse's token signing keys: their lifecycle, their
// encryption at rest, the published JSON Web Key Set and the signer that the
// token endpoint uses.
//
// Every signing algorithm in use (RS256, PS256, ES256, EdDSA; RFC 7518 §3 and
// RFC 8037) has its own lifecycle (docs/reference/protocol.md): a key is created "next" and
// published in the JWKS (RFC 7517 §5) without signing, becomes "current" and
// signs access tokens (RFC 9068), becomes "previous" and stays published until
// every token it signed has expired, and is finally "retired". Rotation refuses
// to promote a next key that has been published for less than one JWKS cache
// lifetime, so no verifier that honours Cache-Control meets an unknown kid.
// At most [MaxPreviousKeys] previous keys of an algorithm are published, so
// the JWKS stays small however often the keys rotate.
//
// A key's kid is its RFC 7638 JWK thumbprint (SHA-256, base64url). Private keys
// are stored as PKCS #8 DER sealed with AES-256-GCM under a 32-byte master key,
// with the key's kid and algorithm as additional authenticated data, so a
// ciphertext copied to another row does not open.
//
// [Manager] keeps an immutable, fully prepared key set behind an atomic
// pointer: [Manager.Sign] and [Manager.JWKS] take no lock and never decrypt;
// [Manager.Load] rebuilds and swaps the set when the stored keys change.
//
// [Scheduler] rotates the keys automatically once a current key has signed
// for a configured period. Every instance runs one; a lease in the store
// ([RotationLease], ARCHITECTURE.md: "only one instance rotates keys at a time")
// and a second look at freshly loaded keys under it make exactly one
// instance rotate per period, and every other instance picks the new keys up
// from the change feed.
package keys
