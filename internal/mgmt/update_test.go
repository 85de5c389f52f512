package mgmt_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func TestUpdateResourceServer(t *testing.T) {
	e := newEnv(t)
	path := "/api/v2/resource-servers/" + url.PathEscape(demoAPI)
	r := e.must(200, "PATCH", path, `{"name":"Demo","token_lifetime":600,"token_dialect":"access_token","signing_alg":"EdDSA","scopes":[{"value":"read"},{"value":"write"},{"value":"admin"}]}`)
	got := r.obj(t)
	if got["name"] != "Demo" || got["token_lifetime"] != float64(600) || got["token_dialect"] != "access_token" || got["signing_alg"] != "EdDSA" || len(got["scopes"].([]any)) != 3 {
		t.Errorf("patched: %s", r.body)
	}
	// The change reaches the token endpoint: Auth0's dialect, EdDSA, 600 s.
	id, secret := e.client(demoAPI, "admin")
	e.sync()
	if s, _ := e.tokenResult(id, secret, demoAPI); s != 200 {
		t.Errorf("token after the API changed: %d", s)
	}
	// By id, with the identifier unchanged, is fine.
	e.must(200, "PATCH", "/api/v2/resource-servers/"+mgmt.ResourceServerID(demoAPI), `{"identifier":"`+demoAPI+`","name":"Demo 2"}`)
	errs := []struct {
		name, path, body string
		status           int
		code, msg        string
	}{
		{"identifier", path, `{"identifier":"https://other.test"}`, 400, "invalid_body", "identifier is immutable"},
		{"zero lifetime", path, `{"token_lifetime":0}`, 400, "invalid_body", "token_lifetime 0"},
		{"bad dialect", path, `{"token_dialect":"jwt"}`, 400, "invalid_body", "_authz"},
		{"authz dialect without RBAC", path, `{"token_dialect":"access_token_authz","enforce_policies":false}`, 400, "invalid_body", "needs enforce policies"},
		{"bad user policy", path, `{"subject_type_authorization":{"user":{"policy":"allow_some"}}}`, 400, "invalid_body", `user access policy "allow_some"`},
		{"client allow_all", path, `{"subject_type_authorization":{"client":{"policy":"allow_all"}}}`, 400, "invalid_body", `client access policy "allow_all"`},
		{"bad alg", path, `{"signing_alg":"none"}`, 400, "invalid_body", `"none"`},
		{"unknown field", path, `{"enforce_policy":true}`, 400, "invalid_body", `unknown field "enforce_policy"`},
		{"missing", "/api/v2/resource-servers/missing", `{"name":"x"}`, 404, "inexistent_resource_server", "not found"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.name, e.as("PATCH", tt.path, tt.body), tt.status, tt.code, tt.msg)
		})
	}
	if after := e.must(200, "GET", path, "").obj(t); after["name"] != "Demo 2" || len(after["scopes"].([]any)) != 3 {
		t.Errorf("refused patches changed the API: %v", after)
	}
}

func TestUpdateClientGrant(t *testing.T) {
	e := newEnv(t)
	id, secret := e.client(demoAPI, "read")
	grants := e.must(200, "GET", "/api/v2/client-grants?client_id="+id, "").arr(t)
	gid := str(grants[0], "id")
	r := e.must(200, "PATCH", "/api/v2/client-grants/"+gid, `{"scope":["read","write"]}`)
	if g := r.obj(t); jsonBody(g["scope"]) != `["read","write"]` || g["client_id"] != id || g["audience"] != demoAPI {
		t.Errorf("patched: %s", r.body)
	}
	e.sync()
	resp, err := e.http.Client().PostForm(e.http.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {id}, "client_secret": {secret}, "audience": {demoAPI}, "scope": {"write"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("token for the scope added by PATCH: %d", resp.StatusCode)
	}
	wantError(t, "undefined scope", e.as("PATCH", "/api/v2/client-grants/"+gid, `{"scope":["delete"]}`), 400, "invalid_body", `"delete"`)
	wantError(t, "no scope", e.as("PATCH", "/api/v2/client-grants/"+gid, `{}`), 400, "invalid_body", `"scope" is required`)
	wantError(t, "client_id", e.as("PATCH", "/api/v2/client-grants/"+gid, `{"scope":[],"client_id":"x"}`), 400, "invalid_body", `client_id is read-only`)
	wantError(t, "missing", e.as("PATCH", "/api/v2/client-grants/missing", `{"scope":[]}`), 404, "inexistent_client_grant", "not found")
}

// TestEnsureAPIAddsScopes checks that a management API created by an older
// version, with fewer scopes, gets the missing ones and keeps its own.
func TestEnsureAPIAddsScopes(t *testing.T) {
	e := newEnv(t)
	aud := mgmt.Audience(e.issuer)
	old := []storage.Scope{{Value: mgmt.ScopeReadClients, Description: "kept"}, {Value: "custom:thing"}}
	// The admin grant holds every scope; drop it so the scopes may shrink.
	grants, _ := e.store.ListGrants(e.ctx, storage.GrantFilter{Audience: aud})
	for _, g := range grants {
		if err := e.store.DeleteGrant(e.ctx, g.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.UpdateAPI(e.ctx, aud, admin.APIPatch{Scopes: &old}); err != nil {
		t.Fatal(err)
	}
	created, err := mgmt.EnsureAPI(e.ctx, e.svc, e.issuer)
	if err != nil || created {
		t.Fatalf("EnsureAPI = %v, %v", created, err)
	}
	api, _ := e.store.GetAPI(e.ctx, aud)
	if len(api.Scopes) != len(mgmt.Scopes)+1 || api.Scopes[0].Description != "kept" || api.Scopes[1].Value != "custom:thing" {
		t.Errorf("scopes after EnsureAPI: %v", api.Scopes)
	}
	if created, err := mgmt.EnsureAPI(e.ctx, e.svc, e.issuer); err != nil || created {
		t.Errorf("EnsureAPI again = %v, %v", created, err)
	}
}
