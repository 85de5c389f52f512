package main

import (
	"context"
	"encoding/json"
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
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
	"github.com/gatehouse-dev/gatehouse/internal/users"
	"github.com/gatehouse-dev/gatehouse/verify"
)

const apiID = "https://sensors.example.com"

// TestWebapp runs the web app against a real gatehouse and a verifying
// API, and a cookie-keeping client through login, consent, the API call,
// userinfo, a refresh and the logout.
func TestWebapp(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dbPath := filepath.Join(t.TempDir(), "g.db")
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	gh := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DB, cfg.Issuer = "sqlite:"+dbPath, "http://"+gh.Listener.Addr().String()
	svc := &admin.Service{Store: store, Passwords: users.Hasher{Params: users.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}}}
	if _, err := svc.CreateAPI(ctx, admin.APIInput{Identifier: apiID, AllowOfflineAccess: true, Scopes: []storage.Scope{{Value: "read:sensors"}}}); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewUnstartedServer(nil)
	base := "http://" + web.Listener.Addr().String()
	client, sec, err := svc.CreateLoginClient(ctx, admin.LoginClientInput{Name: "Example web app", AppType: "regular_web",
		RedirectURIs: []string{base + "/callback"}, LogoutURLs: []string{base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	// The web app's users may get tokens for the API (its user access is
	// require_client_grant).
	if _, err := svc.CreateGrantFor(ctx, storage.SubjectUser, client.ClientID, apiID, []string{"read:sensors"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, admin.UserInput{Email: "alice@example.com", Name: "Alice", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, cfg, store, make([]byte, 32), server.Options{GenerateKey: testutil.KeyGenerator()})
	if err != nil {
		t.Fatal(err)
	}
	gh.Config.Handler = srv.Handler()
	gh.Start()
	defer gh.Close()
	wait := srv.Start(ctx)
	defer wait()
	defer cancel()

	v, err := verify.New(verify.Config{Issuer: cfg.Issuer, Audience: apiID})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFromContext(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]any{"pong": true, "sub": c.Subject})
	})))
	defer api.Close()

	a, err := newApp(ctx, cfg.Issuer, client.ClientID, sec.Plain, apiID, api.URL, base, "read:sensors")
	if err != nil {
		t.Fatal(err)
	}
	web.Config.Handler = a
	web.Start()
	defer web.Close()

	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(u string) (string, string) {
		t.Helper()
		resp, err := b.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body), resp.Request.URL.String()
	}
	post := func(u string, page string, extra ...string) string {
		t.Helper()
		f := url.Values{}
		for _, m := range regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`).FindAllStringSubmatch(page, -1) {
			f.Set(m[1], html.UnescapeString(m[2]))
		}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		resp, err := b.PostForm(u, f)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}

	home, _ := get(base + "/")
	if !strings.Contains(home, `href="/login"`) {
		t.Fatalf("home before login: %s", home)
	}
	loginPage, _ := get(base + "/login")
	if !strings.Contains(loginPage, "Example web app") || !strings.Contains(loginPage, `<label for="email">Email</label>`) {
		t.Fatalf("login page: %s", loginPage)
	}
	consent := post(cfg.Issuer+"/authorize/login", loginPage, "email", "alice@example.com", "password", "correct horse battery")
	if !strings.Contains(consent, ">Allow</button>") {
		t.Fatalf("consent page: %s", consent)
	}
	after := post(cfg.Issuer+"/authorize/consent", consent, "decision", "allow")
	if !strings.Contains(after, "Logged in as Alice (alice@example.com)") {
		t.Fatalf("after login: %s", after)
	}
	for _, tc := range []struct{ path, want string }{
		{"/api", `&#34;sub&#34;:&#34;usr_`},
		{"/userinfo", "alice@example.com"},
		{"/refresh", "refresh token rotated: true"},
		{"/api", "API answered 200 OK"},
	} {
		if body, _ := get(base + tc.path); !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: want %q in %s", tc.path, tc.want, body)
		}
	}
	out, at := get(base + "/logout")
	if !strings.Contains(out, "Logged out.") || !strings.HasPrefix(at, base+"/?state=logged-out") {
		t.Fatalf("logout ended at %s: %s", at, out)
	}
	if again, _ := get(base + "/login"); !strings.Contains(again, `<label for="password">Password</label>`) {
		t.Errorf("after logout the login page is not asked again: %s", again)
	}
}
