package server_test

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

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

const (
	audience = "https://api.test"
	other    = "https://other.test"
)

// fixture is a real server on a real SQLite database behind httptest, with
// one API, one client granted "read write" on it, and a second API the
// client has no grant for.
type fixture struct {
	t         testing.TB
	ctx       context.Context
	http      *httptest.Server
	srv       *server.Server
	store     *sqlite.Store
	admin     *admin.Service
	issuer    string
	clientID  string
	secret    string
	db        string // the DSN
	masterKey []byte
}

func newFixture(t testing.TB, mutate ...func(*config.Config)) *fixture {
	t.Helper()
	mutate = append([]func(*config.Config){func(c *config.Config) { c.SyncInterval = 20 * time.Millisecond }}, mutate...)
	return setupFixture(t, fixtureOptions(), true, mutate...)
}

// fixtureOptions are newFixture's server options: background work at a
// test's pace.
func fixtureOptions() server.Options {
	return server.Options{UsageFlushInterval: 50 * time.Millisecond, ReadyCheckInterval: 50 * time.Millisecond}
}

// setupFixture is newFixture's store, APIs, granted client and server, built
// with opts (its GenerateKey set to the test key generator) and serving over
// httptest; start also runs the server's background work (catalog sync,
// usage and audit flushes), which newTracedFixture leaves off.
func setupFixture(t testing.TB, opts server.Options, start bool, mutate ...func(*config.Config)) *fixture {
	t.Helper()
	return setupFixtureOn(t, nil, opts, start, mutate...)
}

// setupFixtureOn is setupFixture with the server on wrap(store) instead of
// the store itself, when wrap is not nil.
func setupFixtureOn(t testing.TB, wrap func(*sqlite.Store) server.Store, opts server.Options, start bool, mutate ...func(*config.Config)) *fixture {
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
	for _, m := range mutate {
		m(&cfg)
	}
	svc := &admin.Service{Store: store}
	f := &fixture{t: t, ctx: ctx, store: store, admin: svc, issuer: cfg.Issuer, db: cfg.DB}
	if _, err := svc.CreateAPI(ctx, admin.APIInput{Identifier: audience, Scopes: scopes("read", "write", "admin")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateAPI(ctx, admin.APIInput{Identifier: other}); err != nil {
		t.Fatal(err)
	}
	c, sec, err := svc.CreateClient(ctx, admin.ClientInput{Name: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateGrant(ctx, c.ClientID, audience, []string{"read", "write"}); err != nil {
		t.Fatal(err)
	}
	f.clientID, f.secret = c.ClientID, sec.Plain
	f.masterKey = make([]byte, 32)
	_, _ = rand.Read(f.masterKey)
	opts.GenerateKey = testutil.KeyGenerator()
	var served server.Store = store
	if wrap != nil {
		served = wrap(store)
	}
	f.srv, err = server.New(ctx, cfg, served, f.masterKey, opts)
	if err != nil {
		t.Fatal(err)
	}
	svc.Keys = f.srv.Keys()
	ts.Config.Handler = f.srv.Handler()
	ts.Start()
	f.http = ts
	wait := func() {}
	if start {
		wait = f.srv.Start(ctx)
	}
	t.Cleanup(func() {
		ts.Close()
		cancel()
		wait()
		store.Close()
	})
	return f
}

func scopes(values ...string) []storage.Scope {
	out := make([]storage.Scope, len(values))
	for i, v := range values {
		out[i] = storage.Scope{Value: v}
	}
	return out
}

// sync applies pending changes at once instead of waiting for the follower.
func (f *fixture) sync() {
	f.t.Helper()
	if _, err := f.srv.Catalog().Sync(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

type tokenResponse struct {
	status int
	header http.Header
	raw    map[string]any
}

func (r tokenResponse) str(k string) string { s, _ := r.raw[k].(string); return s }

// do sends a request to the token endpoint.
func (f *fixture) do(method, query, contentType string, body []byte, mod func(*http.Request)) tokenResponse {
	f.t.Helper()
	u := f.http.URL + "/oauth/token"
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if mod != nil {
		mod(req)
	}
	resp, err := f.http.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := tokenResponse{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(data, &out.raw); err != nil {
		f.t.Fatalf("response is not a JSON object: %q", data)
	}
	return out
}

func form(kv ...string) []byte {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return []byte(v.Encode())
}

func (f *fixture) postForm(kv ...string) tokenResponse {
	return f.do(http.MethodPost, "", "application/x-www-form-urlencoded", form(kv...), nil)
}

func (f *fixture) postJSON(v any) tokenResponse {
	b, _ := json.Marshal(v)
	return f.do(http.MethodPost, "", "application/json", b, nil)
}

// verify checks a token's signature against the served JWKS and returns its
// header and claims.
func (f *fixture) verify(tok string) (jose.Header, map[string]any) {
	f.t.Helper()
	resp, err := f.http.Client().Get(f.http.URL + "/.well-known/jwks.json")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		f.t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256, jose.EdDSA})
	if err != nil {
		f.t.Fatalf("parse token: %v", err)
	}
	h := jws.Signatures[0].Protected
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		f.t.Fatalf("JWKS has %d keys with kid %q", len(keys), h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		f.t.Fatalf("verify token: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		f.t.Fatal(err)
	}
	return h, claims
}

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q does not contain %q", s, sub)
	}
}
