package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/dpop"
)

// BenchmarkEndpointDPoP is BenchmarkEndpoint's reuse=off request with a
// DPoP proof (ES256) checked and the token bound, beside the same request
// without one, so that the two read back to back: the difference is
// DPoP's cost at the token endpoint. The proofs are made before the clock
// starts (each once: jti replay).
func BenchmarkEndpointDPoP(b *testing.B) {
	for _, bound := range []bool{false, true} {
		name := "bearer"
		if bound {
			name = "dpop"
		}
		b.Run(name, func(b *testing.B) {
			e := newReuseEnv(b, false, 0)
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			s, err := dpop.NewSigner(key, "")
			if err != nil {
				b.Fatal(err)
			}
			s.Now = func() time.Time { return e.now }
			proofs := make([]string, b.N)
			for i := range proofs {
				if bound {
					proofs[i], _ = s.Proof("POST", "https://issuer.test/oauth/token", "", "")
				}
			}
			h := e.http.Config.Handler
			body := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.client}, "client_secret": {e.secret}, "audience": {reuseAud}}.Encode()
			rd := strings.NewReader(body)
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", rd)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rd.Reset(body)
				if bound {
					r.Header["Dpop"] = proofs[i : i+1]
				}
				h.ServeHTTP(w, r)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}
