package token

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/throttle"
)

// TestQuotasTogether: with a client quota and a per-API quota, a request
// the per-API quota refuses spends neither, so the client still has its
// client quota for another API; then the client quota refuses.
func TestQuotasTogether(t *testing.T) {
	e := newReuseEnv(t, false, 0)
	const other = "https://other.test"
	if _, err := e.admin.CreateAPI(e.ctx, admin.APIInput{Identifier: other, SigningAlg: keys.ES256, TokenLifetime: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CreateGrant(e.ctx, e.client, other, nil); err != nil {
		t.Fatal(err)
	}
	e.sync()
	ep := NewEndpoint(Config{Issuer: "https://issuer.test", Catalog: e.cat, Signer: e.keys, Now: func() time.Time { return e.now },
		Grants:   []Grant{ClientCredentials{}},
		Quota:    throttle.NewQuota([]throttle.Policy{{Limit: 2, Window: time.Hour}}),
		APIQuota: throttle.NewAPIQuota([]throttle.Policy{{Limit: 1, Window: time.Hour}}),
	})
	srv := httptest.NewServer(ep)
	defer srv.Close()
	for i, tc := range []struct {
		aud    string
		status int
		desc   string // in the error description
	}{
		{reuseAud, http.StatusOK, ""},
		{reuseAud, http.StatusTooManyRequests, "for this API is spent"},
		{reuseAud, http.StatusTooManyRequests, "for this API is spent"},
		{other, http.StatusOK, ""},
		{other, http.StatusTooManyRequests, "quota of 2/h is spent"},
	} {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.client}, "client_secret": {e.secret}, "audience": {tc.aud}}
		resp, err := http.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.desc) {
			t.Fatalf("request %d for %s: %d %s, want %d with %q", i, tc.aud, resp.StatusCode, body, tc.status, tc.desc)
		}
		if tc.status == http.StatusTooManyRequests && (resp.Header.Get("Ratelimit") == "" || resp.Header.Get("Retry-After") == "") {
			t.Errorf("request %d: 429 without RateLimit and Retry-After", i)
		}
	}
}
