package token_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// signerFunc is a token.Signer made of a func.
type signerFunc func(alg, typ string, payload []byte) (string, error)

func (f signerFunc) Sign(alg, typ string, payload []byte) (string, error) {
	return f(alg, typ, payload)
}

// TestRefreshSurvivesFailedIssue: a refresh request that fails after the
// refresh token was checked (here the signer, as a key or database outage
// would) leaves the presented token usable. Rotating it before the tokens
// were made lost its successor with the failed response, so the client's
// retry looked like a stolen token being replayed (RFC 9700 §4.14.2) and
// revoked the person's login.
func TestRefreshSurvivesFailedIssue(t *testing.T) {
	ctx := context.Background()
	st, cat, plain, now := newLogin(t, false)

	var failing atomic.Bool
	signer := signerFunc(func(alg, typ string, payload []byte) (string, error) {
		if failing.Load() {
			return "", errors.New("the key store is unavailable")
		}
		return "header." + alg + ".sig", nil
	})
	users := &token.UserTokens{Issuer: "https://issuer", Store: st, Signer: signer, Rand: rand.Reader}
	ep := token.NewEndpoint(token.Config{Issuer: "https://issuer", Catalog: cat, Signer: signer, Now: func() time.Time { return now },
		Grants: users.Grants()})
	refresh := func(rt string) (int, map[string]any) {
		t.Helper()
		return postToken(t, ep, plain, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}

	failing.Store(true)
	if code, body := refresh("rt-1"); code != http.StatusInternalServerError {
		t.Fatalf("refresh while the signer fails: %d %v, want 500", code, body)
	}
	failing.Store(false)
	code, body := refresh("rt-1")
	if code != http.StatusOK {
		t.Fatalf("retry of the same refresh token after a server error: %d %v, want 200 (the login must survive)", code, body)
	}
	next, _ := body["refresh_token"].(string)
	if next == "" || next == "rt-1" {
		t.Fatalf("retry: refresh_token %q, want a new one", next)
	}
	if _, f, err := st.GetRefreshToken(ctx, token.Digest(next)); err != nil || !f.RevokedAt.IsZero() {
		t.Fatalf("the new refresh token's family: %+v, %v; want live", f, err)
	}
	// The used one is still refused, and its reuse still revokes the family.
	if code, body := refresh("rt-1"); code != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("a rotated refresh token presented again: %d %v, want 400 invalid_grant", code, body)
	}
}

// newLogin opens a store holding the login client "web" (secret returned,
// certificate-bound tokens when bound), the person "u1" and the refresh
// token "rt-1" of their login, and a catalog loaded from it.
func newLogin(t *testing.T, bound bool) (*sqlite.Store, *catalog.Catalog, string, time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	plain, digest, hint, err := secret.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	client := storage.Client{ClientID: "web", Name: "web", AppType: storage.AppTypeRegularWeb, CertificateBoundTokens: bound,
		GrantTypes: []string{storage.GrantAuthorizationCode, storage.GrantRefreshToken}, RedirectURIs: []string{"https://app/cb"}}
	if err := st.CreateClient(ctx, client, storage.Secret{ID: "s1", ClientID: "web", Hash: digest, Hint: hint, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, storage.User{UserID: "u1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	fam := storage.RefreshFamily{ID: "rtf_1", ClientID: "web", UserID: "u1", Scope: []string{"openid", "offline_access"},
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
	if err := st.CreateRefreshFamily(ctx, fam, storage.RefreshToken{ID: token.Digest("rt-1"), FamilyID: fam.ID, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(st, nil, nil)
	if err := cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return st, cat, plain, now
}

// postToken posts form to ep as the client "web" (client_secret_basic).
func postToken(t *testing.T, ep http.Handler, plain string, form url.Values) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("web", plain)
	w := httptest.NewRecorder()
	ep.ServeHTTP(w, r)
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	return w.Code, body
}
