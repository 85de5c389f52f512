package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// BenchmarkIntrospect measures /oauth/introspect through the server's
// handler (no network): an active RS256 token, answered as JSON or as an
// RFC 9701 JWT, with an empty denylist and with 100 000 entries on it.
func BenchmarkIntrospect(b *testing.B) {
	for _, tc := range []struct {
		name, accept string
		denied       int
	}{
		{"json", "", 0}, {"json/denylist=100k", "", 100_000}, {"jwt", "application/token-introspection+jwt", 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFixture(b)
			owner := party{f.clientID, f.secret}
			rs := f.newParty("rs", "")
			if _, err := f.admin.AddIntrospector(f.ctx, audience, rs.id); err != nil {
				b.Fatal(err)
			}
			if tc.denied > 0 { // one statement: a write per entry would take minutes
				exp := time.Now().Add(24 * time.Hour).UnixMicro()
				if _, err := f.store.DB().ExecContext(f.ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
					INSERT INTO revocations (kind, value, revoked_before, expires_at) SELECT 'jti', 'jti-' || i, ?, ? FROM n`, tc.denied, exp, exp); err != nil {
					b.Fatal(err)
				}
				if err := f.srv.Catalog().Load(f.ctx); err != nil {
					b.Fatal(err)
				}
			}
			f.sync()
			tok := f.tokenFor(owner, audience)
			body := url.Values{"token": {tok}}.Encode()
			h := f.srv.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/oauth/introspect", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(rs.id, rs.secret)
					if tc.accept != "" {
						req.Header.Set("Accept", tc.accept)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != 200 || tc.accept == "" && !strings.Contains(w.Body.String(), `"active":true`) {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}
