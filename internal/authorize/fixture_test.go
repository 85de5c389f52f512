package authorize_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/authorize"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
	"github.com/gatehouse-dev/gatehouse/internal/users"
)

const (
	apiID     = "https://api.example.com/"
	onlineAPI = "https://online.example.com/" // no offline access
	webCB     = "https://app.example.com/cb"
	spaCB     = "http://127.0.0.1:9999/spa"
	password  = "correct horse battery"
	verifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// env is a real authorization endpoint over HTTP on a SQLite store.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	store  *sqlite.Store
	svc    *admin.Service
	cat    *catalog.Catalog
	h      *authorize.Handler
	web    storage.Client // third party, regular_web
	spa    storage.Client // first party, public
	native storage.Client // first party, public, loopback and private-use redirect URIs
	m2m    storage.Client
	user   storage.User
	mu     sync.Mutex
	now    time.Time
	issuer string
}

func (e *env) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func newEnv(t testing.TB, mods ...func(*authorize.Config)) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &env{t: t, store: st, now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	svc := &admin.Service{Store: st, Passwords: testutil.CheapHasher(), Now: e.clock}
	e.svc = svc
	if _, err := svc.CreateAPI(ctx, admin.APIInput{Identifier: apiID, AllowOfflineAccess: true,
		Scopes: []storage.Scope{{Value: "read:things", Description: "Read your things"}, {Value: "write:things"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateAPI(ctx, admin.APIInput{Identifier: onlineAPI, Scopes: []storage.Scope{{Value: "read:things"}}}); err != nil {
		t.Fatal(err)
	}
	if e.web, _, err = svc.CreateLoginClient(ctx, admin.LoginClientInput{Name: "Web App", AppType: "regular_web", RedirectURIs: []string{webCB, "https://app.example.com/cb2?keep=1"}}); err != nil {
		t.Fatal(err)
	}
	if e.spa, _, err = svc.CreateLoginClient(ctx, admin.LoginClientInput{Name: "SPA", AppType: "spa", RedirectURIs: []string{spaCB}, FirstParty: true}); err != nil {
		t.Fatal(err)
	}
	if e.native, _, err = svc.CreateLoginClient(ctx, admin.LoginClientInput{Name: "CLI", AppType: "native", FirstParty: true,
		RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]/cb?app=1", "com.example.app:/cb"}}); err != nil {
		t.Fatal(err)
	}
	if e.m2m, _, err = svc.CreateClient(ctx, admin.ClientInput{Name: "svc"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{e.web.ClientID, e.spa.ClientID, e.native.ClientID} {
		for api, scopes := range map[string][]string{apiID: {"read:things", "write:things"}, onlineAPI: {"read:things"}} {
			if _, err := svc.CreateGrantFor(ctx, storage.SubjectUser, c, api, scopes); err != nil {
				t.Fatal(err)
			}
		}
	}
	if e.user, err = svc.CreateUser(ctx, admin.UserInput{Email: "alice@example.com", Name: "Alice", Password: password}); err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(st, nil, e.clock)
	e.cat = cat
	if err := cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	var handler http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	e.issuer = e.srv.URL + "/"
	cfg := authorize.Config{
		Issuer: e.issuer, Store: st, Catalog: cat, Permissions: st, Passwords: testutil.CheapHasher(), Now: e.clock,
		Throttle: users.NewThrottle(users.ThrottleConfig{MaxPerPair: 3, MaxPerUser: 3, MaxPerAddress: 10, Window: time.Minute,
			StepUpDelay: time.Millisecond, MaxStepUpDelay: 4 * time.Millisecond}),
	}
	for _, m := range mods {
		m(&cfg)
	}
	e.h, err = authorize.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	handler = e.h
	return e
}

// browser is a cookie-keeping HTTP client that follows redirects within
// the issuer and stops at any other host (the client's redirect URI).
type browser struct {
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	host := strings.TrimPrefix(e.srv.URL, "http://")
	return &browser{e: e, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host != host {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

type resp struct {
	status   int
	body     string
	location *url.URL // set when the browser was sent to another host
	header   http.Header
}

func (b *browser) do(req *http.Request) resp {
	b.e.t.Helper()
	r, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	out := resp{status: r.StatusCode, body: string(body), header: r.Header}
	if loc := r.Header.Get("Location"); loc != "" && r.StatusCode/100 == 3 {
		out.location, _ = url.Parse(loc)
	}
	return out
}

func (b *browser) get(path string, q url.Values) resp {
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path+"?"+q.Encode(), nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) resp {
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.srv.URL)
	return b.do(req)
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// form returns the hidden fields of the page's form.
func form(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// authz returns a valid authorization request of the web client.
func (e *env) authz(mod func(url.Values)) url.Values {
	v := url.Values{
		"response_type": {"code"}, "client_id": {e.web.ClientID}, "redirect_uri": {webCB},
		"scope": {"openid profile email read:things"}, "state": {"st-123"}, "nonce": {"n-1"},
		"code_challenge": {challenge}, "code_challenge_method": {oauth.PKCEMethodS256}, "audience": {apiID},
	}
	if mod != nil {
		mod(v)
	}
	return v
}

// logIn submits the login page r with the credentials.
func (b *browser) logIn(r resp, email, pw string) resp {
	b.e.t.Helper()
	f := form(r.body)
	if f.Get("csrf_token") == "" || !strings.Contains(r.body, `<label for="email">Email</label>`) {
		b.e.t.Fatalf("not a login page (%d): %s", r.status, r.body)
	}
	f.Set("email", email)
	f.Set("password", pw)
	return b.post(authorize.PathLogin, f)
}

// decide submits the consent page r.
func (b *browser) decide(r resp, decision string) resp {
	b.e.t.Helper()
	f := form(r.body)
	if !strings.Contains(r.body, ">Allow</button>") || !strings.Contains(r.body, ">Deny</button>") {
		b.e.t.Fatalf("not a consent page (%d): %s", r.status, r.body)
	}
	f.Set("decision", decision)
	return b.post(authorize.PathConsent, f)
}
