package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/verify"
)

// TestFastRotationThroughVerify runs the server with the shortest rotation
// the configuration allows for a 2 s JWKS max-age (a new key every 4 s) and
// verifies every token it issues, as they come, with the verify package's
// defaults, from four workers for three rotations: not one may be refused.
// A verifier that caches the JWKS longer than the server's max-age, or
// refetches on an unknown kid less often than the rotation needs (verify's
// 1 min floor and 10 s refetch interval before), refuses tokens of each
// newly promoted key.
func TestFastRotationThroughVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for three rotation periods")
	}
	const (
		maxAge  = 2 * time.Second
		period  = 4 * time.Second
		workers = 4
	)
	f := newFixture(t, func(c *config.Config) { c.JWKSMaxAge, c.KeyRotationPeriod = maxAge, period })
	var meta struct{ Issuer string }
	getJSON(t, f, "/.well-known/openid-configuration", &meta)
	v, err := verify.New(verify.Config{
		Issuer: meta.Issuer, Audience: audience, JWKSURL: f.http.URL + "/.well-known/jwks.json",
		HTTPClient: f.http.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*period+3*time.Second)
	defer cancel()
	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.clientID}, "client_secret": {f.secret}, "audience": {audience}}.Encode()

	var (
		mu       sync.Mutex
		kids     = map[string]int{} // tokens verified per kid
		failures []string
		refused  int
		first    string // the first token verified
	)
	fail := func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		refused++
		if len(failures) < 10 {
			failures = append(failures, msg)
		}
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := 0; i < 100_000 && ctx.Err() == nil; i++ {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.http.URL+"/oauth/token", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := f.http.Client().Do(req)
				if err != nil {
					if ctx.Err() == nil {
						fail("token request: " + err.Error())
					}
					return
				}
				var tok struct {
					AccessToken string `json:"access_token"`
				}
				err = json.NewDecoder(resp.Body).Decode(&tok)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					fail("token response: " + resp.Status)
					continue
				}
				c, err := v.Verify(ctx, tok.AccessToken)
				if err != nil {
					if ctx.Err() == nil {
						fail(err.Error())
					}
					continue
				}
				mu.Lock()
				kids[c.KeyID]++
				if first == "" {
					first = tok.AccessToken
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range kids {
		total += n
	}
	t.Logf("%d tokens verified, by key: %v", total, kids)
	if len(failures) > 0 {
		t.Fatalf("%d of %d tokens refused during the rotations; the first: %v", refused, total+refused, failures)
	}
	if len(kids) < 3 {
		t.Fatalf("tokens of %d keys, want at least three (two rotations) in %s", len(kids), 3*period)
	}
	// The first key is previous by now, and still published.
	if _, err := v.Verify(t.Context(), first); err != nil {
		t.Fatalf("the first token after the rotations: %v", err)
	}
}
