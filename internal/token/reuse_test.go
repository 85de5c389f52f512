package token

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// reuseEnv is a token endpoint behind httptest on a real SQLite store, real
// keys and a real catalog, with a clock the test moves.
type reuseEnv struct {
	t      testing.TB
	ctx    context.Context
	store  *sqlite.Store
	admin  *admin.Service
	keys   *keys.Manager
	cat    *catalog.Catalog
	http   *httptest.Server
	mu     sync.Mutex
	now    time.Time
	client string
	secret string
}

const reuseAud = "https://reuse.test"

func newReuseEnv(t testing.TB, reuse bool, entries int) *reuseEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &reuseEnv{t: t, ctx: ctx, store: st, now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	clock := func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
	km, err := keys.New(keys.Config{Store: st, MasterKey: make([]byte, keys.MasterKeySize), Now: clock, Generate: testutil.KeyGenerator()})
	if err != nil {
		t.Fatal(err)
	}
	e.keys, e.admin = km, &admin.Service{Store: st, Keys: km, Now: clock}
	if _, err := e.admin.CreateAPI(ctx, admin.APIInput{Identifier: reuseAud, SigningAlg: keys.ES256, TokenLifetime: time.Hour,
		Scopes: []storage.Scope{{Value: "read"}, {Value: "write"}}}); err != nil {
		t.Fatal(err)
	}
	e.client, e.secret = e.newClient("read", "write")
	e.cat = catalog.New(st, nil, clock)
	if err := e.cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ep := NewEndpoint(Config{Issuer: "https://issuer.test", Catalog: e.cat, Signer: km, Now: clock,
		Grants: []Grant{ClientCredentials{}}, TokenReuse: reuse, ReuseEntries: entries})
	e.http = httptest.NewServer(ep)
	t.Cleanup(e.http.Close)
	return e
}

func (e *reuseEnv) newClient(scopes ...string) (id, secret string) {
	e.t.Helper()
	c, sec, err := e.admin.CreateClient(e.ctx, admin.ClientInput{Name: "svc"})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.admin.CreateGrant(e.ctx, c.ClientID, reuseAud, scopes); err != nil {
		e.t.Fatal(err)
	}
	return c.ClientID, sec.Plain
}

func (e *reuseEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// sync applies the store's changes to the catalog and reloads the keys, as
// the server's follower does.
func (e *reuseEnv) sync() {
	e.t.Helper()
	if _, err := e.cat.Sync(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	if err := e.keys.Load(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

type tokenResp struct {
	status    int
	AccessTok string `json:"access_token"`
	ExpiresIn int64  `json:"expires_in"`
	Scope     string `json:"scope"`
	Error     string `json:"error"`
}

func (e *reuseEnv) token(id, secret, scope string) tokenResp {
	e.t.Helper()
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "audience": {reuseAud}}
	if scope != "" {
		v.Set("scope", scope)
	}
	resp, err := http.Post(e.http.URL, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenResp
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		e.t.Fatal(err)
	}
	tr.status = resp.StatusCode
	if resp.StatusCode == 200 && resp.Header.Get("Cache-Control") != "no-store" {
		e.t.Error("a reused token was sent without Cache-Control: no-store")
	}
	return tr
}

func (e *reuseEnv) ok(id, secret, scope string) tokenResp {
	e.t.Helper()
	tr := e.token(id, secret, scope)
	if tr.status != 200 || tr.AccessTok == "" {
		e.t.Fatalf("token request: status %d error %q", tr.status, tr.Error)
	}
	return tr
}

// TestTokenReuseOffByDefault: without reuse every request gets a new token.
func TestTokenReuseOffByDefault(t *testing.T) {
	e := newReuseEnv(t, false, 0)
	a, b := e.ok(e.client, e.secret, ""), e.ok(e.client, e.secret, "")
	if a.AccessTok == b.AccessTok {
		t.Error("the same token twice with reuse off")
	}
}

// TestTokenReusePerAPI: with the server-wide switch off, an API's own
// token_reuse turns reuse on for that API, and off again.
func TestTokenReusePerAPI(t *testing.T) {
	e := newReuseEnv(t, false, 0)
	setReuse := func(on bool) {
		t.Helper()
		if _, err := e.admin.UpdateAPI(e.ctx, reuseAud, admin.APIPatch{TokenReuse: &on}); err != nil {
			t.Fatal(err)
		}
		e.sync()
	}
	if a, b := e.ok(e.client, e.secret, ""), e.ok(e.client, e.secret, ""); a.AccessTok == b.AccessTok {
		t.Fatal("the same token twice before the API turned reuse on")
	}
	setReuse(true)
	a := e.ok(e.client, e.secret, "")
	e.advance(time.Minute)
	if b := e.ok(e.client, e.secret, ""); b.AccessTok != a.AccessTok || b.ExpiresIn != 3540 {
		t.Errorf("with the API's token_reuse on: same token %v, expires_in %d; want the same token, 3540", b.AccessTok == a.AccessTok, b.ExpiresIn)
	}
	setReuse(false)
	c, d := e.ok(e.client, e.secret, ""), e.ok(e.client, e.secret, "")
	if c.AccessTok == a.AccessTok || c.AccessTok == d.AccessTok {
		t.Error("a token reused after the API turned reuse off")
	}
}

// TestTokenReuse: with reuse on, a client asking again for the same
// audience and scope gets the same token with expires_in lowered, while more
// than half its lifetime remains; anything that could change the token —
// another scope, another client, the client's secrets, grant or disabled
// state, a key rotation — gets a new one.
func TestTokenReuse(t *testing.T) {
	type step func(t *testing.T, e *reuseEnv, first tokenResp)
	same := func(t *testing.T, e *reuseEnv, first tokenResp, scope string, wantExpires int64) {
		t.Helper()
		got := e.ok(e.client, e.secret, scope)
		if got.AccessTok != first.AccessTok {
			t.Fatal("a new token where the first should be reused")
		}
		if got.ExpiresIn != wantExpires || got.Scope != first.Scope {
			t.Errorf("expires_in %d scope %q, want %d %q", got.ExpiresIn, got.Scope, wantExpires, first.Scope)
		}
	}
	fresh := func(t *testing.T, e *reuseEnv, first tokenResp, scope string) tokenResp {
		t.Helper()
		got := e.ok(e.client, e.secret, scope)
		if got.AccessTok == first.AccessTok {
			t.Fatal("the old token was reused")
		}
		if got.ExpiresIn != 3600 {
			t.Errorf("a new token with expires_in %d, want 3600", got.ExpiresIn)
		}
		return got
	}
	tests := []struct {
		name string
		run  step
	}{
		{"reused with expires_in lowered", func(t *testing.T, e *reuseEnv, first tokenResp) {
			same(t, e, first, "", 3600)
			e.advance(10 * time.Minute)
			same(t, e, first, "", 3000)
			e.advance(19*time.Minute + 59*time.Second) // 1801 s left: still more than half
			same(t, e, first, "", 1801)
		}},
		{"new once half the lifetime is gone", func(t *testing.T, e *reuseEnv, first tokenResp) {
			e.advance(30 * time.Minute)
			second := fresh(t, e, first, "")
			same(t, e, second, "", 3600)
		}},
		{"scope is part of the key", func(t *testing.T, e *reuseEnv, first tokenResp) {
			r := fresh(t, e, first, "read")
			if r.Scope != "read" {
				t.Errorf("scope %q", r.Scope)
			}
			same(t, e, first, "read write", 3600) // the same granted scope as asking for none
		}},
		{"another client gets its own", func(t *testing.T, e *reuseEnv, first tokenResp) {
			id, sec := e.newClient("read", "write")
			e.sync()
			if got := e.ok(id, sec, ""); got.AccessTok == first.AccessTok {
				t.Error("another client got the first client's token")
			}
		}},
		{"a wrong secret gets nothing", func(t *testing.T, e *reuseEnv, first tokenResp) {
			if got := e.token(e.client, e.secret+"x", ""); got.status != 401 || got.AccessTok != "" {
				t.Errorf("wrong secret: status %d token %q", got.status, got.AccessTok)
			}
		}},
		{"a new secret invalidates", func(t *testing.T, e *reuseEnv, first tokenResp) {
			if _, err := e.admin.AddSecret(e.ctx, e.client, time.Time{}, 0); err != nil {
				t.Fatal(err)
			}
			e.sync()
			fresh(t, e, first, "")
		}},
		{"a revoked secret is refused", func(t *testing.T, e *reuseEnv, first tokenResp) {
			secs, err := e.admin.ListSecrets(e.ctx, e.client)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.admin.RevokeSecret(e.ctx, e.client, secs[0].ID); err != nil {
				t.Fatal(err)
			}
			e.sync()
			if got := e.token(e.client, e.secret, ""); got.status != 401 {
				t.Errorf("revoked secret: status %d", got.status)
			}
		}},
		{"disable and enable invalidate", func(t *testing.T, e *reuseEnv, first tokenResp) {
			if _, err := e.admin.SetClientDisabled(e.ctx, e.client, true); err != nil {
				t.Fatal(err)
			}
			e.sync()
			if got := e.token(e.client, e.secret, ""); got.status != 401 {
				t.Fatalf("disabled client: status %d", got.status)
			}
			if _, err := e.admin.SetClientDisabled(e.ctx, e.client, false); err != nil {
				t.Fatal(err)
			}
			e.sync()
			fresh(t, e, first, "")
		}},
		{"a grant change invalidates", func(t *testing.T, e *reuseEnv, first tokenResp) {
			gs, err := e.store.ListGrants(e.ctx, storage.GrantFilter{ClientID: e.client})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.admin.DeleteGrant(e.ctx, gs[0].ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.admin.CreateGrant(e.ctx, e.client, reuseAud, []string{"read"}); err != nil {
				t.Fatal(err)
			}
			e.sync()
			if got := fresh(t, e, first, ""); got.Scope != "read" {
				t.Errorf("scope %q after the grant shrank", got.Scope)
			}
		}},
		{"a key rotation invalidates", func(t *testing.T, e *reuseEnv, first tokenResp) {
			if _, err := e.keys.Rotate(e.ctx, keys.RotateOptions{Algs: []string{keys.ES256}, Force: true}); err != nil {
				t.Fatal(err)
			}
			e.sync()
			fresh(t, e, first, "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newReuseEnv(t, true, 0)
			first := e.ok(e.client, e.secret, "")
			if first.ExpiresIn != 3600 || first.Scope != "read write" {
				t.Fatalf("first token: %+v", first)
			}
			tt.run(t, e, first)
		})
	}
}

// TestTokenReuseBounded: the cache never holds more than its capacity, and
// a client whose entry was evicted simply gets a new token.
func TestTokenReuseBounded(t *testing.T) {
	e := newReuseEnv(t, true, 64)
	type cred struct{ id, secret string }
	var creds []cred
	for range 100 {
		id, sec := e.newClient("read")
		creds = append(creds, cred{id, sec})
	}
	e.sync()
	for _, c := range creds {
		e.ok(c.id, c.secret, "")
	}
	ep := e.http.Config.Handler.(*Endpoint)
	if n := ep.reuse.len(); n > 64 || n == 0 {
		t.Errorf("cache holds %d tokens, capacity 64", n)
	}
	for _, c := range creds {
		e.ok(c.id, c.secret, "") // evicted or not, every client gets a token
	}
}

// TestWriteResponseIsWriteJSON: the hand-written token response is what
// oauth.WriteJSON writes, body and headers.
func TestWriteResponseIsWriteJSON(t *testing.T) {
	for _, resp := range []Response{
		{AccessToken: "eyJ.eyJ.sig", TokenType: "Bearer", ExpiresIn: 86400, Scope: "read:orders write:orders"},
		{AccessToken: "a.b.c", TokenType: "Bearer", ExpiresIn: 1, Scope: ""},
		{AccessToken: "a.b.c", TokenType: "Bearer", ExpiresIn: 59, Scope: "<odd>&scope"},
	} {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		writeResponse(got, &resp)
		oauth.WriteJSON(want, http.StatusOK, resp)
		if got.Body.String() != want.Body.String() || got.Code != want.Code {
			t.Errorf("body %q, want %q", got.Body, want.Body)
		}
		if fmt.Sprint(got.Header()) != fmt.Sprint(want.Header()) {
			t.Errorf("headers %v, want %v", got.Header(), want.Header())
		}
	}
}
