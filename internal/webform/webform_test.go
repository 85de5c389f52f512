package webform_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/webform"
)

// TestGuard: a token is bound to the browser's cookie and its session, and
// a form from another origin is refused whatever its token.
func TestGuard(t *testing.T) {
	g := webform.Guard{Key: []byte(strings.Repeat("k", 32)), Origin: "https://auth.example.com"}
	browser := strings.Repeat("b", webform.BrowserValueLen)
	tok := g.Token(browser, "session-1")
	for _, tc := range []struct {
		name             string
		header           map[string]string
		browser, session string
		token            string
		ok               bool
	}{
		{"same origin", map[string]string{"Origin": "https://auth.example.com"}, browser, "session-1", tok, true},
		{"no origin, no fetch metadata", nil, browser, "session-1", tok, true},
		{"no origin, same-origin fetch", map[string]string{"Sec-Fetch-Site": "same-origin"}, browser, "session-1", tok, true},
		{"another origin", map[string]string{"Origin": "https://evil.example"}, browser, "session-1", tok, false},
		{"null origin", map[string]string{"Origin": "null"}, browser, "session-1", tok, false},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, browser, "session-1", tok, false},
		{"same-site fetch", map[string]string{"Sec-Fetch-Site": "same-site"}, browser, "session-1", tok, false},
		{"another session", nil, browser, "session-2", tok, false},
		{"another browser", nil, strings.Repeat("c", webform.BrowserValueLen), "session-1", tok, false},
		{"a short browser value", nil, "b", "session-1", g.Token("b", "session-1"), false},
		{"no token", nil, browser, "session-1", "", false},
		{"another key's token", nil, browser, "session-1", webform.Guard{Key: []byte(strings.Repeat("x", 32))}.Token(browser, "session-1"), false},
	} {
		r := httptest.NewRequest(http.MethodPost, "https://auth.example.com/console/apis", nil)
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		if got := g.Check(r, tc.browser, tc.session, tc.token); got != tc.ok {
			t.Errorf("%s: Check = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// TestPageHeaders: a page may not be framed or cached, and carries its CSP.
func TestPageHeaders(t *testing.T) {
	h := http.Header{}
	webform.PageHeaders(h, "default-src 'none'; frame-ancestors 'none'")
	for k, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'", "Referrer-Policy": "same-origin"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// TestOriginOf: the forms' origin is serialized as browsers send Origin
// (RFC 6454 §6.1): scheme and host in lower case, the scheme's default port
// left out, so that an issuer written https://Host:443 still accepts its
// own pages' posts.
func TestOriginOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://auth.example.com", "https://auth.example.com"},
		{"https://auth.example.com:443/tenant", "https://auth.example.com"},
		{"HTTPS://Auth.Example.COM:443", "https://auth.example.com"},
		{"http://127.0.0.1:80", "http://127.0.0.1"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"https://auth.example.com:8443", "https://auth.example.com:8443"},
		{"https://[::1]:443", "https://[::1]"},
		{"https://[::1]:8443", "https://[::1]:8443"},
	} {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := webform.OriginOf(u); got != tc.want {
			t.Errorf("OriginOf(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
