package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

// BenchmarkTokenAuth compares one whole ES256 token request through the
// handler, in process, authenticated with a secret and with a
// private_key_jwt assertion of each key type (assertions are signed before
// the timer starts: only the server's verification, the in-memory jti
// check and the jti INSERT into SQLite are measured). Sequential, so that
// allocs/op and ns/op are one request's.
func BenchmarkTokenAuth(b *testing.B) {
	f := newFixture(b)
	const aud = "https://es256.bench"
	if _, err := f.admin.CreateAPI(f.ctx, admin.APIInput{Identifier: aud, SigningAlg: "ES256", Scopes: scopes("read")}); err != nil {
		b.Fatal(err)
	}
	if _, err := f.admin.CreateGrant(f.ctx, f.clientID, aud, []string{"read"}); err != nil {
		b.Fatal(err)
	}
	f.sync()
	h := f.srv.Handler()
	serve := func(b *testing.B, body string) {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.Run("client_secret_post", func(b *testing.B) {
		body := string(form("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", aud))
		b.ReportAllocs()
		for b.Loop() {
			serve(b, body)
		}
	})
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		b.Run("private_key_jwt/"+alg, func(b *testing.B) {
			k := newSigningKey(b, alg)
			id := f.newKeyClient(k)
			if _, err := f.admin.CreateGrant(f.ctx, id, aud, []string{"read"}); err != nil {
				b.Fatal(err)
			}
			f.sync()
			const batch = 2048
			bodies := make([]string, 0, batch)
			b.ReportAllocs()
			for b.Loop() {
				if len(bodies) == 0 {
					b.StopTimer()
					for range batch {
						a := k.sign(b, claimsFor(id, f.issuer, time.Now()), "", "")
						bodies = append(bodies, string(form("grant_type", "client_credentials", "audience", aud,
							"client_assertion_type", jwtBearer, "client_assertion", a)))
					}
					b.StartTimer()
				}
				serve(b, bodies[len(bodies)-1])
				bodies = bodies[:len(bodies)-1]
			}
		})
	}
}

// BenchmarkUseAssertionID is the cost of the cross-instance replay check
// alone: one unique INSERT of (client, jti, exp) into SQLite.
func BenchmarkUseAssertionID(b *testing.B) {
	f := newFixture(b)
	var st *sqlite.Store = f.store
	exp := time.Now().Add(time.Minute)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if err := st.UseAssertionID(f.ctx, f.clientID, "jti-"+string(rune(i))+time.Now().String(), exp); err != nil {
			b.Fatal(err)
		}
	}
}
