// Package interop tests gatehouse as its users meet it: a real
// `gatehouse serve` process, built once from ./cmd/gatehouse, administered
// through the same binary's command line, and exercised by clients nobody
// here wrote — golang.org/x/oauth2/clientcredentials for tokens and
// github.com/coreos/go-oidc/v3 for strict discovery and verification against
// the remote JWKS.
//
// It holds tests only; run them with `go test ./test/interop/`.
package interop
