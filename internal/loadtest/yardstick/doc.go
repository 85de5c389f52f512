// Command yardstick is the measure that docs/performance.md compares
// gatehouse with: a bare net/http token endpoint that does only what every
// client credentials server must (RFC 6749 §4.4): parse the form body, check
// the client's secret against a SHA-256 digest in constant time, sign a JWT
// with go-jose and answer it. No middleware, no audit, no metrics, no
// database, no key storage: the signing key is made at start and never
// leaves the process, so its tokens verify nowhere.
//
// It reads the credentials file that `gatehouse bench --credentials-out`
// writes, so the same clients and the same load run against both:
//
//	go run ./internal/loadtest/yardstick -credentials creds.jsonl -alg ES256 -addr 127.0.0.1:8081
//	gatehouse bench --token-url http://127.0.0.1:8081/oauth/token --audience https://api.example.com --credentials creds.jsonl
//
// It is a measuring instrument, not part of the product.
package main
