package mgmt_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// demoAPI is an ordinary API the fixture registers next to the built-in one.
const demoAPI = "https://api.test"

// env is a real server on a real SQLite database behind httptest, with an
// admin client holding every management scope (as gatehouse init makes it).
type env struct {
	t      *testing.T
	ctx    context.Context
	http   *httptest.Server
	srv    *server.Server
	store  *sqlite.Store
	svc    *admin.Service
	issuer string
	admin  string // a token with every management scope
	now    time.Time
}

// newEnv starts the fixture; each opt may change the server's config.
func newEnv(t *testing.T, opts ...func(*config.Config)) *env {
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
	cfg.Issuer = "http://" + ts.Listener.Addr().String() + "/" // the audience drops the slash
	cfg.SyncInterval = 20 * time.Millisecond
	for _, opt := range opts {
		opt(&cfg)
	}
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	srv, err := server.New(ctx, cfg, store, mk, server.Options{GenerateKey: testutil.KeyGenerator()})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, srv: srv, store: store, issuer: cfg.Issuer,
		svc: &admin.Service{Store: store, Keys: srv.Keys(), Passwords: testutil.CheapHasher()}, now: time.Now()}
	// The management API on its own, in front of the server's handler for
	// the token endpoint: this package's handler is what is under test.
	h, err := mgmt.New(mgmt.Config{Issuer: cfg.Issuer, Admin: e.svc, Keys: srv.Keys(), Catalog: srv.Catalog(),
		RefreshTokenLifetime: cfg.RefreshTokenLifetime, RefreshTokenIdle: cfg.RefreshTokenIdle})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(mgmt.Prefix, h)
	mux.Handle("/", srv.Handler())
	ts.Config.Handler = mux
	ts.Start()
	e.http = ts
	wait := srv.Start(ctx)
	t.Cleanup(func() {
		ts.Close()
		cancel()
		wait()
		_ = store.Close()
	})
	if _, err := e.svc.CreateAPI(ctx, admin.APIInput{Identifier: demoAPI, Scopes: []storage.Scope{{Value: "read"}, {Value: "write"}}}); err != nil {
		t.Fatal(err)
	}
	ac, err := mgmt.Bootstrap(ctx, e.svc, cfg.Issuer, "admin")
	if err != nil {
		t.Fatal(err)
	}
	e.sync()
	e.admin = e.tokenFor(ac.Client.ClientID, ac.Secret.Plain, mgmt.Audience(cfg.Issuer))
	return e
}

func (e *env) sync() {
	e.t.Helper()
	if _, err := e.srv.Catalog().Sync(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// client creates a client granted scopes on audience and returns its
// credentials.
func (e *env) client(audience string, scopes ...string) (id, secret string) {
	e.t.Helper()
	c, sec, err := e.svc.CreateClient(e.ctx, admin.ClientInput{Name: "caller"})
	if err != nil {
		e.t.Fatal(err)
	}
	if scopes == nil {
		scopes = []string{}
	}
	if _, err := e.svc.CreateGrant(e.ctx, c.ClientID, audience, scopes); err != nil {
		e.t.Fatal(err)
	}
	e.sync()
	return c.ClientID, sec.Plain
}

// token returns a management API token carrying exactly scopes.
func (e *env) token(scopes ...string) string {
	e.t.Helper()
	id, secret := e.client(mgmt.Audience(e.issuer), scopes...)
	return e.tokenFor(id, secret, mgmt.Audience(e.issuer))
}

// tokenResult asks the token endpoint; it returns the status and token.
func (e *env) tokenResult(id, secret, audience string) (int, string) {
	e.t.Helper()
	resp, err := e.http.Client().PostForm(e.http.URL+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "audience": {audience}})
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.AccessToken
}

func (e *env) tokenFor(id, secret, audience string) string {
	e.t.Helper()
	status, tok := e.tokenResult(id, secret, audience)
	if status != http.StatusOK || tok == "" {
		e.t.Fatalf("token for %s: status %d", audience, status)
	}
	return tok
}

// response is an answer of the management API.
type response struct {
	status int
	header http.Header
	body   []byte
}

// obj decodes the body as an object.
func (r response) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %q", r.body)
	}
	return m
}

// arr decodes the body as an array of objects.
func (r response) arr(t *testing.T) []map[string]any {
	t.Helper()
	var a []map[string]any
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("body is not a JSON array: %q", r.body)
	}
	return a
}

// req is one management API request.
type req struct {
	method, path string
	token        string // "" for none
	body         string // sent as application/json unless contentType is set
	contentType  string
	header       http.Header
}

func (e *env) do(q req) response {
	e.t.Helper()
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r, err := http.NewRequest(q.method, e.http.URL+q.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	switch {
	case q.contentType != "":
		r.Header.Set("Content-Type", q.contentType)
	case q.body != "":
		r.Header.Set("Content-Type", "application/json")
	}
	if q.token != "" {
		r.Header.Set("Authorization", "Bearer "+q.token)
	}
	for k, v := range q.header {
		r.Header[k] = v
	}
	resp, err := e.http.Client().Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// as sends a request with the admin token.
func (e *env) as(method, path, body string) response {
	e.t.Helper()
	return e.do(req{method: method, path: path, token: e.admin, body: body})
}

// must sends a request with the admin token and fails unless it answers status.
func (e *env) must(status int, method, path, body string) response {
	e.t.Helper()
	r := e.as(method, path, body)
	if r.status != status {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, status)
	}
	return r
}

// wantError checks an error answer: status, Auth0's body shape, errorCode
// and a message containing msg.
func wantError(t *testing.T, what string, r response, status int, code, msg string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d %s, want %d", what, r.status, r.body, status)
		return
	}
	var b map[string]any
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Errorf("%s: body %q is not JSON", what, r.body)
		return
	}
	if b["statusCode"] != float64(status) || b["error"] != http.StatusText(status) {
		t.Errorf("%s: body %s is not Auth0's error shape for %d", what, r.body, status)
	}
	if got, _ := b["errorCode"].(string); got != code {
		t.Errorf("%s: errorCode %q, want %q (%s)", what, got, code, r.body)
	}
	if m, _ := b["message"].(string); !strings.Contains(m, msg) {
		t.Errorf("%s: message %q does not contain %q", what, m, msg)
	}
	for k := range b {
		if k != "statusCode" && k != "error" && k != "message" && k != "errorCode" {
			t.Errorf("%s: unexpected field %q in the error body", what, k)
		}
	}
}

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(bytes.TrimSpace(b))
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }
