// Package federation lets a workload authenticate as a client with the
// identity token its platform already gave it — a Kubernetes projected
// service-account token, a GitHub Actions OIDC token — instead of a secret
// (docs/clients-without-secrets.md). The token arrives as an RFC 7523 §2.2
// client_assertion whose iss is the external issuer; a federated credential
// of the client (storage.FederatedCredential) says which issuer, audience,
// subject and claims it must carry. The Verifier checks the signature
// against the issuer's keys, found through OpenID Connect Discovery 1.0 §4
// and fetched only for issuers that some credential of the client names,
// then cached in memory, bounded in size, time and count; it checks iss,
// aud, exp, nbf and iat with a bounded leeway, the subject, the claim
// conditions and the credential's cap on the token's remaining lifetime.
// Platform tokens serve many requests during their life, so no jti is
// recorded. A failure names the check that failed, for the log, never the
// token's contents; the token endpoint answers every failure with the same
// invalid_client.
package federation
