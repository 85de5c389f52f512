//go:build !race

// The race detector drops a quarter of sync.Pool's items on purpose, which
// would count as allocations: .ci/run runs this test without -race.

package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
)

// tokenAllocBudget is what one client_credentials request with a client
// secret may allocate through the whole handler, per signing algorithm
// (measured by this test on 2026-12-04; PS256 43–44 with its random salt; the signatures' own allocations
// are most of it: crypto/ecdsa's ~60, crypto/rsa's ~15). A change that needs
// more raises the budget here, in the same commit, saying why.
var tokenAllocBudget = map[string]float64{
	"RS256": 38,
	"PS256": 44,
	"ES256": 98,
	"EdDSA": 35,
}

// TestTokenEndpointAllocations guards the token hot path: the allocations of
// a plain client-secret request do not grow unnoticed (new client
// authentication methods, token binding, revocation and access policies
// must cost the bearer path nothing). Allocation counts, unlike times, are
// exact on a shared machine, but they are counted process-wide: the server
// runs without its background work (catalog sync, usage and audit flushes,
// whose share per request grows as a loaded machine slows the requests),
// and the least of three rounds is taken.
func TestTokenEndpointAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, alg := range admin.SigningAlgs {
		t.Run(alg, func(t *testing.T) {
			f := setupFixture(t, fixtureOptions(), false)
			aud := "https://" + strings.ToLower(alg) + ".allocs"
			if _, err := f.admin.CreateAPI(f.ctx, admin.APIInput{Identifier: aud, SigningAlg: alg, Scopes: scopes("read")}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.admin.CreateGrant(f.ctx, f.clientID, aud, []string{"read"}); err != nil {
				t.Fatal(err)
			}
			f.sync()
			body := string(form("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", aud))
			h := f.srv.Handler()
			request := func() {
				req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			request() // warm: pools, the reuse and throttle maps
			least := -1.0
			for range 3 {
				if n := testing.AllocsPerRun(300, request); least < 0 || n < least {
					least = n
				}
			}
			if budget := tokenAllocBudget[alg]; least > budget {
				t.Errorf("a client_credentials %s request allocates %.0f times, over its budget of %.0f (tokenAllocBudget): find the new allocation on the hot path (go test -bench BenchmarkTokenEndpoint -memprofile), or raise the budget saying why", alg, least, budget)
			} else {
				t.Logf("%s: %.0f allocations per request (budget %.0f)", alg, least, budget)
			}
		})
	}
}
