package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
)

// BenchmarkTokenEndpoint measures a whole client_credentials request through
// the handler, in process (parse, authenticate, authorize, mint, sign, write),
// per signing algorithm. Run with -cpu 1 for the one-core figure.
func BenchmarkTokenEndpoint(b *testing.B) {
	for _, alg := range admin.SigningAlgs {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b)
			aud := "https://" + strings.ToLower(alg) + ".bench"
			if _, err := f.admin.CreateAPI(f.ctx, admin.APIInput{Identifier: aud, SigningAlg: alg, Scopes: scopes("read")}); err != nil {
				b.Fatal(err)
			}
			if _, err := f.admin.CreateGrant(f.ctx, f.clientID, aud, []string{"read"}); err != nil {
				b.Fatal(err)
			}
			if _, err := f.srv.Catalog().Sync(f.ctx); err != nil {
				b.Fatal(err)
			}
			body := string(form("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", aud))
			h := f.srv.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}
