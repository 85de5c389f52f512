package authorize_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/authorize"
)

var scriptRE = regexp.MustCompile(`<script>([^<]*)</script>`)

// TestResponseModes: form_post answers with a page that posts the response
// to the redirect URI (its one script allowed by digest in its CSP, a
// button without it); fragment puts it in the fragment; an unknown mode is
// refused, never served as query.
func TestResponseModes(t *testing.T) {
	e := newEnv(t)
	spa := func(mode string, mod func(url.Values)) url.Values {
		return e.authz(func(v url.Values) {
			v.Set("client_id", e.spa.ClientID)
			v.Set("redirect_uri", spaCB)
			if mode != "" {
				v.Set("response_mode", mode)
			}
			if mod != nil {
				mod(v)
			}
		})
	}
	b := e.browser()
	r := b.logIn(b.get(authorize.Path, spa("form_post", nil)), "alice@example.com", password)
	if r.status != http.StatusOK || r.location != nil || !strings.Contains(r.body, `<form method="post" action="`+spaCB+`">`) ||
		!strings.Contains(r.body, `<button type="submit">Continue</button>`) {
		t.Fatalf("form_post: %d %v %s", r.status, r.location, r.body)
	}
	f := form(r.body)
	if f.Get("code") == "" || f.Get("state") != "st-123" || f.Get("iss") != e.issuer || len(f) != 3 {
		t.Errorf("form_post fields %v: want code, state and iss", f)
	}
	m := scriptRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no auto-submit script: %s", r.body)
	}
	sum := sha256.Sum256([]byte(m[1]))
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || !strings.Contains(csp, "default-src 'none'") ||
		strings.Contains(csp, "unsafe-inline'; script") || strings.Contains(csp, "script-src 'unsafe-inline'") {
		t.Errorf("CSP %q does not allow exactly the page's script %q", csp, m[1])
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	// The login page itself allows no script.
	if lp := e.browser().get(authorize.Path, spa("form_post", nil)); strings.Contains(lp.header.Get("Content-Security-Policy"), "script-src") {
		t.Errorf("the login page's CSP allows scripts: %q", lp.header.Get("Content-Security-Policy"))
	}

	r = b.get(authorize.Path, spa("fragment", nil))
	if r.status != http.StatusFound || r.location == nil || r.location.RawQuery != "" {
		t.Fatalf("fragment: %d %v", r.status, r.location)
	}
	frag, _ := url.ParseQuery(r.location.Fragment)
	if frag.Get("code") == "" || frag.Get("state") != "st-123" || frag.Get("iss") != e.issuer {
		t.Errorf("fragment %q", r.location.Fragment)
	}
	e.wantRedirect(t, b.get(authorize.Path, spa("query", nil)), spaCB, "", "st-123")

	// Errors go the requested way too.
	r = e.browser().get(authorize.Path, spa("form_post", func(v url.Values) { v.Set("prompt", "none") }))
	if f := form(r.body); r.status != http.StatusOK || f.Get("error") != "login_required" || f.Get("code") != "" {
		t.Errorf("form_post error: %d %v", r.status, f)
	}
	for _, mode := range []string{"web_message", "form_post.jwt", "QUERY", "query fragment"} {
		e.wantRedirect(t, e.browser().get(authorize.Path, spa(mode, nil)), spaCB, "invalid_request", "st-123")
	}
}

// TestLoopbackRedirect: a native client's loopback redirect URI matches with
// any port (RFC 8252 §7.3); nothing else about it, and no other client, is
// relaxed.
func TestLoopbackRedirect(t *testing.T) {
	e := newEnv(t)
	req := func(clientID, uri string) url.Values {
		return e.authz(func(v url.Values) {
			v.Set("client_id", clientID)
			v.Set("redirect_uri", uri)
			v.Set("prompt", "none")
		})
	}
	for _, uri := range []string{"http://127.0.0.1:53127/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb?app=1", "http://127.0.0.1:65535/cb", "com.example.app:/cb"} {
		r := e.browser().get(authorize.Path, req(e.native.ClientID, uri))
		if r.status != http.StatusFound || r.location == nil || r.header.Get("Location") == "" ||
			!strings.HasPrefix(r.header.Get("Location"), uri) || r.location.Query().Get("error") != "login_required" {
			t.Errorf("%s: %d %s, want the error sent to it", uri, r.status, r.header.Get("Location"))
		}
	}
	for _, uri := range []string{
		"http://127.0.0.1:53127/cb2", "http://127.0.0.1:53127/CB", "http://127.0.0.1:53127/cb?x=1", "http://[::1]:8080/cb",
		"http://localhost:53127/cb", "https://127.0.0.1:53127/cb", "http://127.0.0.2:53127/cb", "http://127.0.0.1:0/cb",
		"http://127.0.0.1:65536/cb", "http://127.0.0.1:053127/cb", "http://127.0.0.1:/cb", "http://user@127.0.0.1:5/cb",
		"http://127.0.0.1:5/%63b", "http://127.0.0.1.evil.example/cb", "com.example.app:/cb2",
	} {
		if r := e.browser().get(authorize.Path, req(e.native.ClientID, uri)); r.status != http.StatusBadRequest || r.location != nil {
			t.Errorf("%s: %d %v, want the error page", uri, r.status, r.location)
		}
	}
	// An spa client's loopback URI is exact, port and all.
	if r := e.browser().get(authorize.Path, req(e.spa.ClientID, "http://127.0.0.1:9998/spa")); r.status != http.StatusBadRequest {
		t.Errorf("an spa client's loopback URI on another port: %d, want the error page", r.status)
	}
}
