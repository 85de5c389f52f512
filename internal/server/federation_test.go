package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// federatedForm is a client-credentials request authenticated by a
// platform token; id "" leaves client_id out.
func federatedForm(id, assertion string) string {
	kv := []string{"grant_type", "client_credentials", "audience", audience,
		"client_assertion_type", assertionType, "client_assertion", assertion}
	if id != "" {
		kv = append(kv, "client_id", id)
	}
	return form2(kv...)
}

// federatedClient creates a client granted "read" that trusts in.
func federatedClient(t *testing.T, l *live, name string, in admin.FederationInput) string {
	t.Helper()
	c, _, err := l.admin.CreateClient(l.ctx, admin.ClientInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.admin.CreateGrant(l.ctx, c.ClientID, audience, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.admin.AddFederatedCredential(l.ctx, c.ClientID, in); err != nil {
		t.Fatal(err)
	}
	return c.ClientID
}

// TestFederatedTokenRequest is the acceptance test of federated workload
// identity over real HTTP: stand-in Kubernetes and GitHub Actions issuers
// on loopback; the right workload gets a token for its client, every wrong
// token is the same invalid_client with the failed check only in the log,
// an issuer nobody configured is never asked for anything, and no token
// reaches the log. The negative cases were written first and failed (no
// federated authentication: every request was refused for want of a
// secret, and the positive ones failed).
func TestFederatedTokenRequest(t *testing.T) {
	// Throttling off: the refusals below would otherwise lock the client out
	// (TestFederatedBruteForce).
	l := startLive(t, serverOpts(), func(c *config.Config) { c.Dev = true; c.AuthFailureLimit = 0 })
	if _, err := l.admin.CreateAPI(l.ctx, admin.APIInput{Identifier: audience, Scopes: scopes("read")}); err != nil {
		t.Fatal(err)
	}
	k8s, _ := testutil.NewIssuer(t, false)
	gh, _ := testutil.NewIssuer(t, false)
	stranger, _ := testutil.NewIssuer(t, false)
	billing := federatedClient(t, l, "billing", admin.FederationInput{Issuer: k8s.URL, Subject: "system:serviceaccount:payments:billing",
		Claims: map[string]string{"kubernetes.io/namespace": "payments"}})
	deploy := federatedClient(t, l, "deploy", admin.FederationInput{Issuer: gh.URL, Subject: "repo:acme/deploy:ref:refs/heads/main",
		Claims: map[string]string{"repository_owner": "acme"}, MaxLifetime: 10 * time.Minute})
	secretOnly, _ := seedClient(t, l, "")
	disabled := federatedClient(t, l, "disabled", admin.FederationInput{Issuer: k8s.URL, Subject: "system:serviceaccount:payments:billing"})
	if _, err := l.admin.SetClientDisabled(l.ctx, disabled, true); err != nil {
		t.Fatal(err)
	}
	l.sync()

	now := time.Now()
	kube := func(mod func(map[string]any)) string {
		c := testutil.KubernetesClaims(k8s.URL, l.cfg.Issuer, "payments", "billing", now)
		if mod != nil {
			mod(c)
		}
		return k8s.Sign(t, c)
	}
	github := func(mod func(map[string]any)) string {
		c := testutil.GitHubClaims(gh.URL, l.cfg.Issuer, "acme/deploy", "refs/heads/main", now)
		if mod != nil {
			mod(c)
		}
		return gh.Sign(t, c)
	}
	set := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	pubDER, _ := x509.MarshalPKIXPublicKey(k8s.Key.Public())
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	enc := base64.RawURLEncoding
	unsigned := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + strings.Split(kube(nil), ".")[1] + "."

	var sent []string
	post := func(id, assertion string) (*http.Response, map[string]any) {
		t.Helper()
		sent = append(sent, assertion)
		resp, body := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", federatedForm(id, assertion), nil)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("body %q", body)
		}
		return resp, m
	}

	refused := []struct {
		name, client, token, check string
	}{
		{"wrong subject", billing, kube(set("sub", "system:serviceaccount:payments:intruder")), "subject"},
		{"wrong namespace claim", billing, kube(func(c map[string]any) { c["kubernetes.io"].(map[string]any)["namespace"] = "default" }), "claims"},
		{"wrong audience", billing, kube(set("aud", []string{"https://other.example.com/"})), "audience"},
		{"another issuer's token (GitHub's for the Kubernetes client)", billing, github(nil), "issuer"},
		{"an unconfigured issuer", billing, stranger.Sign(t, testutil.KubernetesClaims(stranger.URL, l.cfg.Issuer, "payments", "billing", now)), "issuer"},
		{"wrong branch", deploy, github(set("sub", "repo:acme/deploy:ref:refs/heads/evil")), "subject"},
		{"claim condition", deploy, github(set("repository_owner", "evil")), "claims"},
		{"expired", billing, kube(set("exp", now.Add(-time.Minute).Unix())), "expired"},
		{"not yet valid", billing, kube(set("nbf", now.Add(5*time.Minute).Unix())), "not_yet_valid"},
		{"lifetime over the credential's cap", deploy, github(set("exp", now.Add(time.Hour).Unix())), "max_lifetime"},
		{"alg none", billing, unsigned, "malformed"},
		{"HS256 keyed with the issuer's public key", billing, testutil.SignJWT(t, jose.HS256, pubDER, k8s.KID, testutil.KubernetesClaims(k8s.URL, l.cfg.Issuer, "payments", "billing", now)), "malformed"},
		{"ES384 (a Kubernetes P-384 key) by a key the issuer does not publish", billing, testutil.SignJWT(t, jose.ES384, p384, "stand-in-1", testutil.KubernetesClaims(k8s.URL, l.cfg.Issuer, "payments", "billing", now)), "signature"},
		{"a stranger's key under the trusted issuer", billing, stranger.Sign(t, testutil.KubernetesClaims(k8s.URL, l.cfg.Issuer, "payments", "billing", now)), "signature"},
		{"a client without federated credentials", secretOnly, kube(nil), ""},
		{"a disabled client", disabled, kube(nil), ""},
		{"an unknown client", "no-such-client", kube(nil), ""},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(tc.client, tc.token)
			if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" || body["error_description"] != "client authentication failed" {
				t.Errorf("%d %v, want 401 invalid_client \"client authentication failed\"", resp.StatusCode, body)
			}
			if tc.check != "" && len(l.logs.find(t, "federated client authentication failed", map[string]any{"client_id": tc.client})) == 0 {
				t.Errorf("no log line for client %s", tc.client)
			}
			if tc.check != "" && !strings.Contains(l.logs.String(), "federated assertion refused: "+tc.check) {
				t.Errorf("the log does not name the failed check %q", tc.check)
			}
		})
	}
	if resp, body := post("", kube(nil)); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body["error_description"].(string), "client_id is required") {
		t.Errorf("no client_id: %d %v", resp.StatusCode, body)
	}

	for _, ok := range []struct{ name, client, token string }{
		{"kubernetes", billing, kube(nil)},
		{"github actions", deploy, github(nil)},
	} {
		resp, body := post(ok.client, ok.token)
		if resp.StatusCode != http.StatusOK || body["access_token"] == nil || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d %v", ok.name, resp.StatusCode, body)
		}
		claims := map[string]any{}
		payload, _ := enc.DecodeString(strings.Split(body["access_token"].(string), ".")[1])
		_ = json.Unmarshal(payload, &claims)
		if claims["client_id"] != ok.client || claims["aud"] != audience || body["scope"] != "read" {
			t.Errorf("%s: token claims %v, scope %v", ok.name, claims, body["scope"])
		}
	}
	// The same platform token serves again (no jti rule).
	if resp, _ := post(billing, kube(nil)); resp.StatusCode != http.StatusOK {
		t.Errorf("a platform token's second use: %d", resp.StatusCode)
	}

	if n := stranger.Requests(); n != 0 {
		t.Errorf("the unconfigured issuer was asked %d times", n)
	}
	if leaks := testutil.Leaks(l.logs.String(), sent); len(leaks) > 0 {
		t.Errorf("the log holds a token: %v", leaks)
	}
}

// TestFederatedBruteForce: refused platform tokens count as failed guesses,
// as wrong secrets do: past the limit the client's requests from that
// address are answered 429 before any token is looked at.
func TestFederatedBruteForce(t *testing.T) {
	l := startLive(t, serverOpts(), func(c *config.Config) { c.Dev = true; c.AuthFailureLimit = 3 })
	if _, err := l.admin.CreateAPI(l.ctx, admin.APIInput{Identifier: audience, Scopes: scopes("read")}); err != nil {
		t.Fatal(err)
	}
	k8s, _ := testutil.NewIssuer(t, false)
	id := federatedClient(t, l, "billing", admin.FederationInput{Issuer: k8s.URL, Subject: "system:serviceaccount:payments:billing"})
	l.sync()
	now := time.Now()
	good := k8s.Sign(t, testutil.KubernetesClaims(k8s.URL, l.cfg.Issuer, "payments", "billing", now))
	bad := k8s.Sign(t, testutil.KubernetesClaims(k8s.URL, l.cfg.Issuer, "payments", "intruder", now))
	for i := range 3 {
		if resp, _ := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", federatedForm(id, bad), nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad token %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", federatedForm(id, good), nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after 3 refused tokens: %d, want 429", resp.StatusCode)
	}
}

func serverOpts() server.Options { return server.Options{AuditFlushInterval: 20 * time.Millisecond} }

// BenchmarkFederatedTokenEndpoint compares, back to back, a
// client_credentials request authenticated by a secret with one
// authenticated by a Kubernetes-shaped platform token (RS256, the issuer's
// keys cached), both for an ES256 API, in process: the federated one costs
// one RS256 verification and the token checks more, and no database read.
func BenchmarkFederatedTokenEndpoint(b *testing.B) {
	f := newFixture(b, func(c *config.Config) { c.Dev = true })
	const aud = "https://es256.bench"
	if _, err := f.admin.CreateAPI(f.ctx, admin.APIInput{Identifier: aud, SigningAlg: "ES256", Scopes: scopes("read")}); err != nil {
		b.Fatal(err)
	}
	if _, err := f.admin.CreateGrant(f.ctx, f.clientID, aud, []string{"read"}); err != nil {
		b.Fatal(err)
	}
	iss, _ := testutil.NewIssuer(b, false)
	if _, err := f.admin.AddFederatedCredential(f.ctx, f.clientID, admin.FederationInput{Issuer: iss.URL, Subject: "system:serviceaccount:payments:billing"}); err != nil {
		b.Fatal(err)
	}
	f.sync()
	platform := iss.Sign(b, testutil.KubernetesClaims(iss.URL, f.issuer, "payments", "billing", time.Now()))
	bodies := map[string]string{
		"secret": string(form("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", aud)),
		"federated": string(form("grant_type", "client_credentials", "client_id", f.clientID, "audience", aud,
			"client_assertion_type", assertionType, "client_assertion", platform)),
	}
	h := f.srv.Handler()
	for _, name := range []string{"secret", "federated"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(bodies[name]))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
