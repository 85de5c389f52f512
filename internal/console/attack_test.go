package console_test

import (
	"encoding/base64"
	"encoding/json"
	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// routePath fills a route's pattern with real IDs of the fixture.
func (f *fixture) routePath(pattern string) string {
	return strings.NewReplacer("{id}", f.clientID, "{sid}", "sec_none", "{gid}", "cgr_none").Replace(pattern)
}

// actionForm is a form that would change something on each action's path
// if the request were allowed.
func actionForm(f *fixture, path string) url.Values {
	return url.Values{
		"id": {apiID}, "identifier": {"https://new.example.com/"}, "name": {"x"}, "scope": {"read"}, "scopes": {"read"},
		"audience": {apiID}, "grace": {"1h"}, "alg": {"RS256"}, "email": {"new@example.com"}, "password": {"a long new password"},
		"blocked": {"true"}, "disabled": {"true"}, "role": {"rol_none"}, "lifetime": {"1h"},
	}
}

// TestEveryPostNeedsCSRF: a POST without the form's CSRF token, with
// another's, or from another origin is refused (403) before anything is
// looked at, and nothing changes. Written before the console's check: on
// a handler without it, the actions went through.
func TestEveryPostNeedsCSRF(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(adminEmail)
	b.mustSee("signed in", http.StatusOK, "Applications")
	good := b.hidden("csrf_token")
	before := len(f.changes())
	other := f.browser()
	other.login(adminEmail)
	foreign := other.hidden("csrf_token")
	n := 0
	for _, r := range console.Routes() {
		method, pattern, _ := strings.Cut(r, " ")
		pattern, _, _ = strings.Cut(pattern, " ")
		if method != http.MethodPost {
			continue
		}
		n++
		path := f.routePath(pattern)
		for _, tc := range []struct {
			name  string
			token string
			mod   func(*http.Request)
		}{
			{"no token", "", nil},
			{"a forged token", "AAAA" + good[4:], nil},
			{"another session's token", foreign, nil},
			{"the right token from another origin", good, func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }},
			{"the right token from a cross-site fetch", good, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }},
			{"the right token from a null origin", good, func(r *http.Request) { r.Header.Set("Origin", "null") }},
		} {
			form := actionForm(f, path)
			form.Set("csrf_token", tc.token)
			req, _ := http.NewRequest(http.MethodPost, f.http.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.mod != nil {
				tc.mod(req)
			}
			b.do(req)
			if b.status != http.StatusForbidden || !strings.Contains(b.body, "nothing was changed") {
				t.Errorf("POST %s with %s: %d, want 403 and nothing changed:\n%.300s", path, tc.name, b.status, b.body)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d POST routes checked", n)
	}
	if after := f.changes(); len(after) != before {
		t.Fatalf("refused forms changed something: %d audit events, want %d: %+v", len(after), before, after[:len(after)-before])
	}
	// The same session with its token works: the check is not a refusal of everything.
	b.get("/console/applications")
	b.post("/console/applications", url.Values{"name": {"made with the right token"}})
	b.mustSee("POST with the token", http.StatusOK, "made with the right token")
}

// TestWithoutPermission: a person who holds no management permission
// signs in, and every page is a 403 page (GET) and every action a 403
// (POST, with a valid CSRF token), and nothing changes. A person holding
// only read:clients sees the applications but may change none.
func TestWithoutPermission(t *testing.T) {
	f := newFixture(t)
	f.person("nobody@example.com")
	f.person("reader@example.com", mgmt.ScopeReadClients)
	before := len(f.changes())
	for _, who := range []string{"nobody@example.com", "reader@example.com"} {
		b := f.browser()
		b.login(who)
		for _, r := range console.Routes() {
			parts := strings.Fields(r)
			if len(parts) < 3 {
				continue // needs no permission: the sign-out
			}
			method, pattern, scope := parts[0], parts[1], parts[2]
			if who == "reader@example.com" && scope == mgmt.ScopeReadClients {
				continue
			}
			path := f.routePath(pattern)
			if method == http.MethodGet {
				b.get(path)
			} else {
				b.get("/console/") // a page with this session's CSRF token (a 403 page has its sign-out form)
				b.post(path, actionForm(f, path))
			}
			if b.status != http.StatusForbidden || !strings.Contains(b.body, scope) {
				t.Errorf("%s: %s %s: %d, want 403 naming %s:\n%.300s", who, method, path, b.status, scope, b.body)
			}
		}
	}
	if after := f.changes(); len(after) != before {
		t.Fatalf("people without the permission changed something: %+v", after[:len(after)-before])
	}
	b := f.browser()
	b.login("reader@example.com")
	b.get("/console/applications")
	b.mustSee("read:clients lists the applications", http.StatusOK, "billing")
	if strings.Contains(b.body, "New machine application") {
		t.Error("the page offers to create an application to a person without create:clients")
	}
}

// TestPermissionRemovedCountsAtOnce: a session of a person whose
// permission is taken away, or who is blocked, stops working at the next
// action, though the person's token still carries the scope.
func TestPermissionRemovedCountsAtOnce(t *testing.T) {
	f := newFixture(t)
	id := f.person("ops@example.com", mgmt.ScopeReadClients, mgmt.ScopeCreateClients)
	b := f.browser()
	b.login("ops@example.com")
	b.mustSee("signed in", http.StatusOK, "billing")
	perm := []storage.Permission{{Audience: mgmt.Audience(f.issuer), Scope: mgmt.ScopeCreateClients}}
	if err := f.svc.RemoveUserPermissions(f.ctx, id, perm); err != nil {
		t.Fatal(err)
	}
	b.post("/console/applications", url.Values{"name": {"after removal"}})
	b.mustSee("create after the permission was removed", http.StatusForbidden, mgmt.ScopeCreateClients)
	b.get("/console/applications")
	b.mustSee("the permission kept still works", http.StatusOK, "billing")
	if _, err := f.svc.SetUserDisabled(f.ctx, id, true); err != nil {
		t.Fatal(err)
	}
	b.get("/console/applications")
	b.mustSee("a blocked person's session", http.StatusUnauthorized, "no longer valid")
	for _, c := range f.mustClients() {
		if c.Name == "after removal" {
			t.Fatal("the client was created after the permission was removed")
		}
	}
}

func (f *fixture) mustClients() []storage.Client {
	f.t.Helper()
	list, err := f.store.ListClients(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

// TestCookiesAndHeaders: the console's cookies are HttpOnly, SameSite=Lax
// and scoped to /console (Secure with the __Secure- prefix under an https
// issuer); its pages may not be framed, run no script and load nothing but
// their style sheet.
func TestCookiesAndHeaders(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(adminEmail)
	b.mustSee("signed in", http.StatusOK, "Applications")
	seen := map[string]bool{}
	for _, line := range b.sets {
		name, _, _ := strings.Cut(line, "=")
		if !strings.HasPrefix(name, "gatehouse_console") {
			continue
		}
		seen[name] = true
		for _, attr := range []string{"Path=/console", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(line, attr) {
				t.Errorf("cookie %s lacks %s: %s", name, attr, line)
			}
		}
	}
	for _, name := range []string{"gatehouse_console", "gatehouse_console_login", "gatehouse_console_csrf"} {
		if !seen[name] {
			t.Errorf("cookie %s was never set; set: %v", name, seen)
		}
	}
	csp := b.header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "default-src 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q allows inline code or scripts", csp)
	}
	if b.header.Get("X-Frame-Options") != "DENY" || b.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: X-Frame-Options %q, Cache-Control %q", b.header.Get("X-Frame-Options"), b.header.Get("Cache-Control"))
	}
	if strings.Contains(b.body, "<script") || strings.Contains(b.body, " style=") {
		t.Error("a console page carries a script or an inline style")
	}

	// Under an https issuer: Secure, with the __Secure- prefix.
	hf := newFixture(t, func(c *config.Config) { c.Issuer = strings.Replace(c.Issuer, "http://", "https://", 1) })
	hb := hf.browser()
	hb.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hb.get("/console/applications")
	if hb.status != http.StatusSeeOther {
		t.Fatalf("https issuer: GET without a session = %d, want a 303 to the login", hb.status)
	}
	for _, line := range hb.sets {
		if !strings.HasPrefix(line, "__Secure-gatehouse_console_login=") || !strings.Contains(line, "; Secure") || !strings.Contains(line, "Path=/console") {
			t.Errorf("https issuer: cookie %s, want __Secure-…; Path=/console; Secure", line)
		}
	}
}

// TestNewSecretShownOnce: a new secret is on the page after its creation,
// then never again; the page shows its hint and dates.
func TestNewSecretShownOnce(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(adminEmail)
	b.post("/console/applications", url.Values{"name": {"reporting"}})
	b.mustSee("after the creation", http.StatusOK, "New secret: copy it now", `id="new-secret"`)
	secret := regexpValue(b.body, `id="new-secret" readonly value="([^"]+)"`)
	if len(secret) < 32 {
		t.Fatalf("secret %q", secret)
	}
	id := regexpValue(b.body, `<code id="client-id">([^<]+)</code>`)
	b.get("/console/applications/" + id)
	b.mustSee("the page again", http.StatusOK, "Secrets of reporting")
	if strings.Contains(b.body, secret) || strings.Contains(b.body, "New secret") {
		t.Fatal("the secret is shown a second time")
	}
	b.post("/console/applications/"+id+"/secrets/rotate", url.Values{"grace": {"1h"}})
	rotated := regexpValue(b.body, `id="new-secret" readonly value="([^"]+)"`)
	if rotated == "" || rotated == secret {
		t.Fatalf("rotation showed %q", rotated)
	}
	b.get("/console/applications/" + id)
	if strings.Contains(b.body, rotated) {
		t.Fatal("the rotated secret is shown a second time")
	}
}

// TestOpenRedirectRefused: the callback takes no destination from the
// request; a state the browser did not start is refused; the page a
// sign-in returns to is a console path, whatever the request said.
func TestOpenRedirectRefused(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b.get("/console/callback?code=x&state=forged&return=https://evil.example/")
	b.mustSee("a callback this browser did not start", http.StatusBadRequest, "not started by this browser")
	for _, path := range []string{"//evil.example/console/", "/console/..%2f..%2fevil", "/console/apis?next=https://evil.example"} {
		b.get(path)
		loc, err := url.Parse(b.header.Get("Location"))
		if err != nil || (loc.Host != "" && "http://"+loc.Host != f.http.URL) || strings.HasPrefix(loc.String(), "//") {
			t.Errorf("GET %s redirected off the server, to %s", path, b.header.Get("Location"))
		}
	}
}

// TestBadInputBesideTheField: a form with bad input comes back (422, never
// a 500) with admin's message beside the field it names, and what was
// typed kept.
func TestBadInputBesideTheField(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(adminEmail)
	for _, tc := range []struct {
		path  string
		form  url.Values
		field string
		msg   string
	}{
		{"/console/apis", url.Values{"identifier": {"has space"}}, "identifier", "must not contain white space"},
		{"/console/apis", url.Values{"identifier": {"https://ok.example/"}, "scopes": {"bad\"scope"}}, "scopes", "RFC 6749 scope token"},
		{"/console/apis", url.Values{"identifier": {"https://ok.example/"}, "lifetime": {"forever"}}, "lifetime", "must be a duration"},
		{"/console/apis", url.Values{"identifier": {"https://ok.example/"}, "lifetime": {"9999h"}}, "lifetime", "from 1s to 720h"},
		{"/console/apis", url.Values{"identifier": {apiID}}, "identifier", "already exists"},
		{"/console/applications", url.Values{"name": {""}}, "name", "client name is required"},
		{"/console/people", url.Values{"email": {"not an email"}, "password": {"short"}}, "email", "email"},
		{"/console/people", url.Values{"email": {"ok@example.com"}, "password": {"short"}}, "password", "password"},
		{"/console/roles", url.Values{"name": {""}}, "name", "name"},
		{"/console/applications/" + f.clientID + "/secrets/rotate", url.Values{"grace": {"-1h"}}, "grace", "grace"},
		{"/console/applications/" + f.clientID + "/secrets", url.Values{"not_before": {"tomorrow"}}, "not_before", "must be a time"},
		{"/console/applications/" + f.clientID + "/grants", url.Values{"audience": {apiID}, "scopes": {"nope"}}, "scope", "nope"},
	} {
		b.get("/console/applications")
		b.post(tc.path, tc.form)
		if b.status != http.StatusUnprocessableEntity {
			t.Errorf("POST %s %v: %d, want 422:\n%.400s", tc.path, tc.form, b.status, b.body)
			continue
		}
		i := strings.Index(b.body, `name="`+tc.field+`"`)
		j := strings.Index(b.body, `class="field-error" role="alert">Error: `)
		if i < 0 || j < i || !strings.Contains(b.body[j:min(j+400, len(b.body))], tc.msg) {
			t.Errorf("POST %s %v: no message with %q beside field %s:\n%s", tc.path, tc.form, tc.msg, tc.field, b.body)
		}
	}
}

func regexpValue(body, expr string) string {
	m := regexp.MustCompile(expr).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestConsoleOff: with --console=false nothing answers under /console.
func TestConsoleOff(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.Console = false })
	b := f.browser()
	for _, path := range []string{"/console/applications", "/console/callback?code=x&state=y", "/console/static/console.css"} {
		b.get(path)
		if b.status != http.StatusNotFound {
			t.Errorf("GET %s with the console off: %d, want 404", path, b.status)
		}
	}
}

// TestNoServerErrorOnBadInput: every action, sent by an administrator with
// empty, malformed or absurd values in every field, answers the person's
// mistake (4xx, or a redirect when the value happens to be acceptable),
// never a 500.
func TestNoServerErrorOnBadInput(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(adminEmail)
	fields := []string{"id", "identifier", "name", "scope", "scopes", "description", "audience", "grace", "not_before", "expires_in",
		"alg", "email", "password", "blocked", "disabled", "role", "lifetime", "signing_alg", "token_dialect", "user_policy", "client_policy"}
	for _, bad := range []string{"", " ", "x y", "\x00\x01", "-1", "99999999999h", strings.Repeat("é", 700), "https://evil.example/#frag", "'\"<>&"} {
		for _, r := range console.Routes() {
			parts := strings.Fields(r)
			if parts[0] != http.MethodPost || len(parts) < 3 {
				continue // the sign-out would end the session the test uses
			}
			for _, path := range []string{
				strings.NewReplacer("{id}", url.PathEscape(bad+"x"), "{sid}", "s", "{gid}", "g").Replace(parts[1]),
				f.routePath(parts[1]),
			} {
				form := url.Values{}
				for _, k := range fields {
					form.Set(k, bad)
				}
				b.get("/console/keys")
				b.post(path, form)
				if b.status >= 500 {
					t.Errorf("POST %s with %q: %d:\n%.300s", path, bad, b.status, b.body)
				}
			}
		}
	}
}

// TestSignOutEndsTheSession: a copy of the session cookie (taken from the
// browser, a proxy or a log) works until the person signs out, and not
// after: the sign-out revokes the session's token, which the management
// API's check refuses on every instance. A revocation of every token of
// the person (user revoke-tokens) ends the console sessions too.
func TestSignOutEndsTheSession(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(adminEmail)
	b.mustSee("signed in", http.StatusOK, "billing")
	u, _ := url.Parse(f.http.URL + "/console/applications")
	thief := f.browser()
	thief.c.Jar.SetCookies(u, b.c.Jar.Cookies(u))
	thief.get("/console/applications")
	thief.mustSee("the copied cookie before the sign-out", http.StatusOK, "billing")

	b.post("/console/logout", nil)
	b.mustSee("sign-out", http.StatusOK, "You are signed out of the console")
	thief.get("/console/applications")
	thief.mustSee("the copied cookie after the sign-out", http.StatusUnauthorized, "no longer valid", "revoked")
	b.post("/console/logout", nil)
	b.mustSee("a second sign-out", http.StatusOK, "You are signed out of the console")

	b.get("/console/applications") // the hosted login's session signs the person in again, with a new token
	b.mustSee("signed in again", http.StatusOK, "billing")
	if _, err := f.svc.RevokeUserTokens(f.ctx, f.adminID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b.get("/console/applications") // the change feed brings the revocation
		if b.status != http.StatusOK || time.Now().After(deadline) {
			break
		}
	}
	b.mustSee("a session after user revoke-tokens", http.StatusUnauthorized, "no longer valid", "revoked")
}

// TestSnippetsQuoteTheirValues: an API identifier may hold what a shell, Go
// or JavaScript reads as code ($( ), backquotes, quotes, &; admin refuses
// only white space, control characters and #), and whoever may create APIs
// chooses it. The test panel's snippets quote it: the curl snippet, run in
// a shell, runs nothing but curl and asks for that very API, and the Go
// and Node snippets read it back as it is.
func TestSnippetsQuoteTheirValues(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	id := "https://evil.example/$(touch${IFS}" + dir + "/dollar)`touch${IFS}" + dir + "/backquote`'\"&audience=x+y"
	if _, err := f.svc.CreateAPI(f.ctx, admin.APIInput{Identifier: id, Scopes: []storage.Scope{{Value: "read"}}}); err != nil {
		t.Fatal(err)
	}
	c, sec, err := f.svc.CreateClient(f.ctx, admin.ClientInput{Name: "snippets"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateGrant(f.ctx, c.ClientID, id, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.login(adminEmail)
	b.get("/console/applications/" + c.ClientID)
	b.mustSee("the application", http.StatusOK, `id="snippet-curl"`)

	curl := regexpValue(b.body, `(?s)<code id="snippet-curl">(.*?)</code>`)
	cmd := exec.Command("bash", "-c", curl)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CLIENT_SECRET="+sec.Plain)
	out, err := cmd.CombinedOutput()
	for _, marker := range []string{"dollar", "backquote"} {
		if _, serr := os.Stat(filepath.Join(dir, marker)); serr == nil {
			t.Errorf("the curl snippet ran the identifier's %s command:\n%s", marker, curl)
		}
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err != nil || json.Unmarshal(out, &body) != nil || body.AccessToken == "" {
		t.Fatalf("the curl snippet got no token (%v): %s\n%s", err, out, curl)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(body.AccessToken, ".")[1])
	var claims struct {
		Aud string `json:"aud"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Aud != id {
		t.Errorf("the curl snippet's token is for %q, want %q", claims.Aud, id)
	}

	goSnippet := regexpValue(b.body, `(?s)<code id="snippet-go">(.*?)</code>`)
	if lit := firstMatch(goSnippet, `Audience: (.*),\n`); lit == "" {
		t.Errorf("no Audience in the Go snippet:\n%s", goSnippet)
	} else if v, err := strconv.Unquote(lit); err != nil || v != id {
		t.Errorf("the Go snippet's Audience %s reads as %q (%v), want %q", lit, v, err, id)
	}
	node := regexpValue(b.body, `(?s)<code id="snippet-node">(.*?)</code>`)
	var v string
	if lit := firstMatch(node, `audience: (.*),\n`); json.Unmarshal([]byte(lit), &v) != nil || v != id {
		t.Errorf("the Node snippet's audience %s reads as %q, want %q", lit, v, id)
	}
}

// firstMatch returns expr's first group in s, as it is.
func firstMatch(s, expr string) string {
	if m := regexp.MustCompile(expr).FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// TestOwnClientProtected: an administrator cannot disable or delete the
// console's own login client from the console: either locks every person
// out of it (sign-in needs that client), and nothing in the console can
// undo it.
func TestOwnClientProtected(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(adminEmail)
	own := ""
	for _, c := range mustList(t, f) {
		if c.Metadata[console.MetadataKey] != "" {
			own = c.ClientID
		}
	}
	if own == "" {
		t.Fatal("no console login client after sign-in")
	}
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/console/applications/" + own + "/disabled", url.Values{"disabled": {"true"}}},
		{"/console/applications/" + own + "/delete", url.Values{}},
	} {
		b.get("/console/applications/" + own)
		b.post(tc.path, tc.form)
		if b.status != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(b.body), "console's own login client") {
			t.Errorf("POST %s: %d, want 422 naming the console's own login client:\n%.400s", tc.path, b.status, b.body)
		}
		c, err := f.store.GetClient(f.ctx, own)
		if err != nil || c.Disabled {
			t.Fatalf("after POST %s the console's client is %+v, %v", tc.path, c, err)
		}
	}
	b.get("/console/applications")
	if b.status != http.StatusOK {
		t.Fatalf("the console after the refused changes: %d", b.status)
	}
}

func mustList(t *testing.T, f *fixture) []storage.Client {
	t.Helper()
	list, err := f.store.ListClients(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return list
}
