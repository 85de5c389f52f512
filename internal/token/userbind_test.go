package token_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/mtlsauth"
	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// TestLoginTokensBoundToCertificate: a login client with
// tls_client_certificate_bound_access_tokens gets its refreshed access
// token bound to the certificate it presents (RFC 8705 §3), as its
// client-credentials tokens are; without a certificate the request is
// refused and the refresh token stays usable. Before, the login grants
// took the binding from a DPoP proof only, so such a client silently got
// bearer tokens that anyone who stole them could use.
func TestLoginTokensBoundToCertificate(t *testing.T) {
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
	client := storage.Client{ClientID: "web", Name: "web", AppType: storage.AppTypeRegularWeb, CertificateBoundTokens: true,
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
	var payload atomic.Value
	signer := signerFunc(func(alg, typ string, p []byte) (string, error) {
		if strings.Contains(string(p), `"client_id"`) { // the access token, not the ID token
			payload.Store(append([]byte(nil), p...))
		}
		return "header." + alg + ".sig", nil
	})
	cert := testutil.NewCA(t, "clients").Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "web"}})
	var present atomic.Bool
	users := &token.UserTokens{Issuer: "https://issuer", Store: st, Signer: signer, Rand: rand.Reader}
	ep := token.NewEndpoint(token.Config{Issuer: "https://issuer", Catalog: cat, Signer: signer, Now: func() time.Time { return now },
		Grants: users.Grants(), ClientCertificate: func(*http.Request) (*x509.Certificate, []*x509.Certificate, error) {
			if present.Load() {
				return cert.Leaf, nil, nil
			}
			return nil, nil, nil
		}})
	refresh := func(rt string) (int, map[string]any) {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()))
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

	// An authorization code redeemed without the certificate is refused
	// before it is used up: the client retries at the mutual-TLS endpoint.
	verifier := "a-code-verifier-of-forty-three-characters-or-more"
	sum := sha256.Sum256([]byte(verifier))
	if err := st.CreateAuthCode(ctx, storage.AuthCode{ID: token.Digest("code-1"), ClientID: "web", UserID: "u1", RedirectURI: "https://app/cb",
		Scope: []string{"openid"}, CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), AuthTime: now, CreatedAt: now,
		ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	redeem := func() (int, map[string]any) {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
			"code": {"code-1"}, "redirect_uri": {"https://app/cb"}, "code_verifier": {verifier}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("web", plain)
		w := httptest.NewRecorder()
		ep.ServeHTTP(w, r)
		var body map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body
	}
	if code, body := redeem(); code != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Fatalf("code without a certificate: %d %v, want 400 invalid_request", code, body)
	}
	present.Store(true)
	if code, body := redeem(); code != http.StatusOK {
		t.Fatalf("the same code with the certificate: %d %v, want 200 (the refused request must not use it up)", code, body)
	}
	present.Store(false)

	if code, body := refresh("rt-1"); code != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Fatalf("refresh without a certificate: %d %v, want 400 invalid_request", code, body)
	}
	present.Store(true)
	code, body := refresh("rt-1")
	if code != http.StatusOK || body["token_type"] != "Bearer" {
		t.Fatalf("refresh with a certificate: %d %v, want 200 (the refused request must not use up the refresh token)", code, body)
	}
	var claims struct {
		Cnf map[string]string `json:"cnf"`
	}
	if err := json.Unmarshal(payload.Load().([]byte), &claims); err != nil {
		t.Fatal(err)
	}
	if want := mtlsauth.Thumbprint(cert.Leaf); claims.Cnf["x5t#S256"] != want {
		t.Fatalf("the refreshed access token's cnf %v, want x5t#S256 %s", claims.Cnf, want)
	}
}
