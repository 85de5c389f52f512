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
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/mtlsauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
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
	st, cat, plain, now := newLogin(t, true)
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
		return postToken(t, ep, plain, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
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
		return postToken(t, ep, plain, url.Values{"grant_type": {"authorization_code"}, "code": {"code-1"},
			"redirect_uri": {"https://app/cb"}, "code_verifier": {verifier}})
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
