package testutil

import (
	"crypto"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/dpop/dpoptest"
)

// issuerKeys gives each Issuer of a test binary a key of its own.
var issuerKeys = KeyGenerator()

// Issuer is a stand-in for a platform's OpenID issuer (a Kubernetes API
// server, GitHub Actions) on loopback: its discovery document, its JWKS,
// and tokens shaped like the platform's, signed with its RS256 key. It
// counts the requests it serves.
type Issuer struct {
	URL string
	Key crypto.Signer
	KID string

	requests atomic.Int64
	down     atomic.Bool
	mu       sync.Mutex
	keys     []jose.JSONWebKey
}

// NewIssuer starts an Issuer on plain http (tls false: fetched only under
// an insecure development setting) or https (its client trusts it: see
// Client), closed when t ends.
func NewIssuer(t testing.TB, tls bool) (*Issuer, *http.Client) {
	t.Helper()
	key, err := issuerKeys("RS256")
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{Key: key, KID: "stand-in-1"}
	iss.keys = []jose.JSONWebKey{{Key: key.Public(), KeyID: iss.KID, Algorithm: "RS256", Use: "sig"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss.URL, "jwks_uri": iss.URL + "/openid/v1/jwks",
			"response_types_supported": []string{"id_token"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /openid/v1/jwks", func(w http.ResponseWriter, r *http.Request) {
		iss.mu.Lock()
		set := jose.JSONWebKeySet{Keys: iss.keys}
		iss.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(set)
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss.requests.Add(1)
		if iss.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	return iss, srv.Client()
}

// Requests returns how many requests the issuer has served.
func (i *Issuer) Requests() int64 { return i.requests.Load() }

// SetDown makes the issuer answer every request 503 (down) or serve again.
func (i *Issuer) SetDown(down bool) { i.down.Store(down) }

// SetKeys replaces the published JWKS (a key rotation).
func (i *Issuer) SetKeys(keys ...jose.JSONWebKey) {
	i.mu.Lock()
	i.keys = keys
	i.mu.Unlock()
}

// Sign returns claims signed with the issuer's key, as the platform signs
// them (RS256, its kid, typ JWT).
func (i *Issuer) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	return SignJWT(t, jose.RS256, i.Key, i.KID, claims)
}

// SignJWT returns claims as a compact JWS of typ JWT signed with key under
// alg and kid (none when kid is empty).
func SignJWT(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	header := map[jose.HeaderKey]any{jose.HeaderType: "JWT"}
	if kid != "" {
		header["kid"] = kid
	}
	return dpoptest.Forge(t, alg, key, header, claims)
}

// KubernetesClaims are the claims of a Kubernetes projected
// service-account token (a pod's serviceAccountToken volume) of the
// service account sa in namespace ns, for audience aud, issued at now for
// an hour.
func KubernetesClaims(iss, aud, ns, sa string, now time.Time) map[string]any {
	return map[string]any{
		"iss": iss, "aud": []string{aud}, "sub": "system:serviceaccount:" + ns + ":" + sa,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(3607 * time.Second).Unix(),
		"jti": "5c3b6e1c-3f9e-4e58-9d1e-0c7e0d3a7c11",
		"kubernetes.io": map[string]any{
			"namespace":      ns,
			"node":           map[string]any{"name": "node-1", "uid": "0c5e7f5a-1111-4c7e-9a33-8f1d2a9b0c01"},
			"pod":            map[string]any{"name": sa + "-7d9f8b6c4-x2k9p", "uid": "8a2c6f5e-2222-4b8e-9c44-7e0d1b2a3c02"},
			"serviceaccount": map[string]any{"name": sa, "uid": "4f1e2d3c-3333-4a9b-8d55-6c7b8a9d0e03"},
		},
	}
}

// GitHubClaims are the claims of a GitHub Actions OIDC token of a job of
// repo (OWNER/NAME) running on ref, for audience aud, issued at now for
// five minutes.
func GitHubClaims(iss, aud, repo, ref string, now time.Time) map[string]any {
	owner := repo
	for i := range repo {
		if repo[i] == '/' {
			owner = repo[:i]
			break
		}
	}
	return map[string]any{
		"iss": iss, "aud": aud, "sub": "repo:" + repo + ":ref:" + ref,
		"iat": now.Unix(), "nbf": now.Add(-5 * time.Second).Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": "example-id", "ref": ref, "ref_type": "branch", "sha": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4",
		"repository": repo, "repository_id": "74", "repository_owner": owner, "repository_owner_id": "65",
		"repository_visibility": "private", "run_id": "9876543210", "run_number": "42", "run_attempt": "1",
		"actor": "octocat", "actor_id": "12", "workflow": "deploy", "event_name": "push",
		"job_workflow_ref": repo + "/.github/workflows/deploy.yml@" + ref, "runner_environment": "github-hosted",
	}
}
