package authorize_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzAuthorize sends arbitrary queries to /authorize and holds it to the
// open-redirect rule (RFC 9700 §4.11): a redirect goes only to one of the
// client's registered redirect URIs, or back to this issuer; and nothing
// is a server error.
func FuzzAuthorize(f *testing.F) {
	e := newEnv(f)
	for _, seed := range []string{
		e.authz(nil).Encode(),
		e.authz(func(v url.Values) { v.Set("redirect_uri", "https://evil.example.com/") }).Encode(),
		e.authz(func(v url.Values) { v.Set("prompt", "none") }).Encode(),
		e.authz(func(v url.Values) { v.Del("code_challenge") }).Encode(),
		"client_id=" + e.web.ClientID + "&redirect_uri=" + url.QueryEscape(webCB) + "%23frag",
		"client_id=" + e.spa.ClientID + "&prompt=none&scope=read:things",
		"client_id=%ZZ", "", ";;;", "client_id=" + e.web.ClientID + "&client_id=x",
	} {
		f.Add(seed)
	}
	allowed := []string{webCB + "?", "https://app.example.com/cb2?", spaCB + "?"}
	f.Fuzz(func(t *testing.T, raw string) {
		req := httptest.NewRequest(http.MethodGet, "/authorize", nil)
		req.URL.RawQuery = raw
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("query %q: status %d", raw, rec.Code)
		}
		loc := rec.Header().Get("Location")
		if rec.Code/100 != 3 {
			if loc != "" {
				t.Fatalf("query %q: status %d with Location %q", raw, rec.Code, loc)
			}
			return
		}
		ok := false
		for _, a := range allowed {
			if strings.HasPrefix(loc, a) {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("query %q: redirected to %q, not a registered redirect URI", raw, loc)
		}
		u, err := url.Parse(loc)
		if err != nil || u.Query().Get("iss") != e.issuer {
			t.Fatalf("query %q: redirect %q without iss", raw, loc)
		}
	})
}
