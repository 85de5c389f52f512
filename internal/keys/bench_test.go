package keys

import "testing"

// benchClaims is a realistic RFC 9068 access token payload (~300 bytes).
var benchClaims = []byte(`{"iss":"https://auth.example.com/","sub":"Q2xpZW50SWQxMjM0NTY3ODkw","aud":"https://api.example.com/orders","client_id":"Q2xpZW50SWQxMjM0NTY3ODkw","azp":"Q2xpZW50SWQxMjM0NTY3ODkw","iat":1767225600,"exp":1767312000,"jti":"0c5d3f5e-8a4b-4b7e-9a3c-2f1e6d7c8b9a","scope":"read:orders write:orders","gty":"client-credentials"}`)

func BenchmarkSign(b *testing.B) {
	e := newEnv()
	m := e.manager(b, nil)
	if err := m.Ensure(ctx, SupportedAlgs...); err != nil {
		b.Fatal(err)
	}
	b.Logf("payload %d bytes", len(benchClaims))
	for _, alg := range SupportedAlgs {
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Sign(alg, TypeAccessToken, benchClaims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
