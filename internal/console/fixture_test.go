package console_test

import (
	"context"
	"crypto/rand"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

const (
	adminEmail = "admin@example.com"
	password   = "correct horse battery staple"
	apiID      = "https://orders.example.com/"
)

// fixture is a real server on a real SQLite database behind httptest, with
// the console set up (console.CreateAdministrator), one API, and one
// machine client granted "read" on it.
type fixture struct {
	t        testing.TB
	ctx      context.Context
	http     *httptest.Server
	srv      *server.Server
	store    *sqlite.Store
	svc      *admin.Service
	issuer   string
	adminID  string
	clientID string
}

func newFixture(t testing.TB, mutate ...func(*config.Config)) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dbPath := filepath.Join(t.TempDir(), "g.db")
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DB = "sqlite:" + dbPath
	cfg.Issuer = "http://" + ts.Listener.Addr().String()
	cfg.SyncInterval = 20 * time.Millisecond
	for _, m := range mutate {
		m(&cfg)
	}
	svc := &admin.Service{Store: store, Passwords: testutil.CheapHasher()}
	f := &fixture{t: t, ctx: ctx, store: store, svc: svc, issuer: cfg.Issuer}
	u, _, err := console.CreateAdministrator(ctx, svc, cfg.Issuer, adminEmail, password)
	if err != nil {
		t.Fatal(err)
	}
	f.adminID = u.UserID
	if _, err := svc.CreateAPI(ctx, admin.APIInput{Identifier: apiID, Scopes: []storage.Scope{{Value: "read"}, {Value: "write"}}}); err != nil {
		t.Fatal(err)
	}
	c, _, err := svc.CreateClient(ctx, admin.ClientInput{Name: "billing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateGrant(ctx, c.ClientID, apiID, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	f.clientID = c.ClientID
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	f.srv, err = server.New(ctx, cfg, store, key, server.Options{GenerateKey: testutil.KeyGenerator(),
		AuditFlushInterval: 10 * time.Millisecond, UsageFlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	svc.Keys = f.srv.Keys()
	ts.Config.Handler = f.srv.Handler()
	ts.Start()
	f.http = ts
	wait := f.srv.Start(ctx)
	t.Cleanup(func() {
		ts.Close()
		cancel()
		wait()
		store.Close()
	})
	return f
}

// person creates a person with a password and the given permissions on
// the management API.
func (f *fixture) person(email string, scopes ...string) string {
	f.t.Helper()
	u, err := f.svc.CreateUser(f.ctx, admin.UserInput{Email: email, Password: password})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(scopes) > 0 {
		var perms []storage.Permission
		for _, s := range scopes {
			perms = append(perms, storage.Permission{Audience: mgmt.Audience(f.issuer), Scope: s})
		}
		if err := f.svc.AddUserPermissions(f.ctx, u.UserID, perms); err != nil {
			f.t.Fatal(err)
		}
	}
	return u.UserID
}

// browser is a browser: a cookie jar that follows redirects, and the last
// page it got.
type browser struct {
	f      *fixture
	c      *http.Client
	status int
	body   string
	header http.Header
	// sets are the Set-Cookie lines of every response so far.
	sets []string
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{f: f}
	b.c = &http.Client{Jar: jar, Transport: setCookieRecorder{b}}
	return b
}

type setCookieRecorder struct{ b *browser }

func (s setCookieRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		s.b.sets = append(s.b.sets, resp.Header.Values("Set-Cookie")...)
	}
	return resp, err
}

func (b *browser) do(req *http.Request) {
	b.f.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	b.status, b.body, b.header = resp.StatusCode, string(data), resp.Header
}

// get loads a page of the server.
func (b *browser) get(path string) {
	b.f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.f.http.URL+path, nil)
	b.do(req)
}

// post sends a form, with the CSRF token of the last page unless the form
// has one.
func (b *browser) post(path string, form url.Values) {
	b.f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", b.hidden("csrf_token"))
	}
	req, _ := http.NewRequest(http.MethodPost, b.f.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b.do(req)
}

// hidden returns the value of the last page's first hidden field name.
func (b *browser) hidden(name string) string {
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(b.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// login signs in to the console as email: the console sends the browser
// to the hosted login, whose form it fills.
func (b *browser) login(email string) {
	b.f.t.Helper()
	b.get("/console/applications")
	if !strings.Contains(b.body, `name="password"`) {
		b.f.t.Fatalf("GET /console/applications without a session: %d, not the login page:\n%s", b.status, b.body)
	}
	b.post("/authorize/login", url.Values{"email": {email}, "password": {password}, "request": {b.hidden("request")}})
}

// mustSee fails unless the last page has status and contains every text.
func (b *browser) mustSee(what string, status int, texts ...string) {
	b.f.t.Helper()
	if b.status != status {
		b.f.t.Fatalf("%s: status %d, want %d:\n%s", what, b.status, status, b.body)
	}
	for _, s := range texts {
		if !strings.Contains(b.body, s) {
			b.f.t.Fatalf("%s: the page lacks %q:\n%s", what, s, b.body)
		}
	}
}

// changes returns the audit events other than the token endpoint's and
// logins, once the recorder has written them: what was changed.
func (f *fixture) changes() []storage.AuditEvent {
	f.t.Helper()
	time.Sleep(60 * time.Millisecond) // two audit flushes
	all, err := f.store.ListAudit(f.ctx, storage.AuditFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []storage.AuditEvent
	for _, e := range all {
		switch e.Action {
		case storage.AuditTokenIssued, storage.AuditAuthFailed, storage.AuditUserLogin:
			continue
		}
		out = append(out, e)
	}
	return out
}
