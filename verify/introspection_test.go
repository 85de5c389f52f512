package verify

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeIntrospection is an introspection endpoint on f's server that answers
// active while the token is not in revoked, and counts its requests.
type fakeIntrospection struct {
	mu      sync.Mutex
	calls   int
	revoked map[string]bool
	status  int // 0: 200
	authz   string
}

func (f *fakeIssuer) introspection(t *testing.T) (*fakeIntrospection, string) {
	t.Helper()
	fi := &fakeIntrospection{revoked: map[string]bool{}}
	mux := f.srv.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		fi.mu.Lock()
		defer fi.mu.Unlock()
		fi.calls++
		fi.authz = r.Header.Get("Authorization")
		if fi.status != 0 {
			w.WriteHeader(fi.status)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"active": !fi.revoked[r.PostForm.Get("token")]})
	})
	return fi, f.srv.URL + "/introspect"
}

func (fi *fakeIntrospection) set(mod func(*fakeIntrospection)) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	mod(fi)
}

func (fi *fakeIntrospection) count() int { fi.mu.Lock(); defer fi.mu.Unlock(); return fi.calls }

// TestIntrospectionMode: a good token is checked with the issuer once per
// CacheTTL, with the API's credentials in HTTP Basic; a token the issuer
// calls inactive fails with ErrRevoked (and is not asked about again);
// an issuer that does not answer fails the token closed.
func TestIntrospectionMode(t *testing.T) {
	keys()
	k := keyFor("RS256")
	f := newFakeIssuer(t, k)
	fi, u := f.introspection(t)
	v, clk := newTestVerifier(t, f, func(c *Config) {
		c.Introspection = &Introspection{ClientID: "api client", ClientSecret: "s:cret", URL: u, CacheTTL: 5 * time.Second}
	})
	tok := sign(t, k, TypeAccessToken, claims())
	for range 3 {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := fi.count(); n != 1 {
		t.Errorf("%d introspection requests within the cache lifetime, want 1", n)
	}
	if want := "Basic " + basic(url.QueryEscape("api client"), url.QueryEscape("s:cret")); fi.authz != want {
		t.Errorf("Authorization %q, want %q", fi.authz, want)
	}
	fi.set(func(fi *fakeIntrospection) { fi.revoked[tok] = true })
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Errorf("within the cache lifetime the revocation is not seen yet: %v", err)
	}
	clk.Add(5 * time.Second)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrRevoked) {
		t.Errorf("after the cache lifetime: %v, want ErrRevoked", err)
	}
	clk.Add(10 * time.Second)
	before := fi.count()
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrRevoked) || fi.count() != before {
		t.Errorf("an inactive answer is final until exp: %v, %d more requests", err, fi.count()-before)
	}
	other := sign(t, k, TypeAccessToken, with("jti", "j2"))
	fi.set(func(fi *fakeIntrospection) { fi.status = http.StatusForbidden })
	if _, err := v.Verify(t.Context(), other); !errors.Is(err, ErrIntrospectionUnavailable) || strings.Contains(err.Error(), other) {
		t.Errorf("an issuer that refuses to answer: %v, want ErrIntrospectionUnavailable without the token", err)
	}
	// A token that fails offline is never sent to the issuer.
	before = fi.count()
	if _, err := v.Verify(t.Context(), sign(t, k, TypeAccessToken, with("aud", "https://elsewhere"))); !errors.Is(err, ErrAudience) || fi.count() != before {
		t.Errorf("a token for another API: %v, %d requests", err, fi.count()-before)
	}
}

// TestIntrospectionConfig: the credentials are required, the cache
// lifetime bounded, the URL checked.
func TestIntrospectionConfig(t *testing.T) {
	for name, in := range map[string]Introspection{
		"no secret":    {ClientID: "c"},
		"ttl too long": {ClientID: "c", ClientSecret: "s", CacheTTL: 2 * time.Minute},
		"plain http":   {ClientID: "c", ClientSecret: "s", URL: "http://issuer.example/introspect"},
	} {
		if _, err := New(Config{Issuer: testIssuer, Audience: testAudience, Introspection: &in}); err == nil || !strings.Contains(err.Error(), "Introspection") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func basic(id, secret string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(id, secret)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}
