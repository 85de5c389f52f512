package mgmt_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
)

// introspect asks /oauth/introspect about tok as id and reports active.
func (e *env) introspect(id, secret, tok string) (int, bool) {
	e.t.Helper()
	resp, err := e.http.Client().PostForm(e.http.URL+"/oauth/introspect", url.Values{"client_id": {id}, "client_secret": {secret}, "token": {tok}})
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Active bool `json:"active"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Active
}

// TestIntrospectionClients: the management API gives and takes back the
// right to introspect an API's tokens, which the introspection endpoint
// follows at once; it refuses unknown, public and repeated clients.
func TestIntrospectionClients(t *testing.T) {
	e := newEnv(t)
	owner, ownerSecret := e.client(demoAPI, "read")
	rs, rsSecret := e.client(demoAPI)
	tok := e.tokenFor(owner, ownerSecret, demoAPI)
	path := "/api/v2/resource-servers/" + url.PathEscape(demoAPI) + "/introspection-clients"
	if status, _ := e.introspect(rs, rsSecret, tok); status != http.StatusForbidden {
		t.Fatalf("before the right: %d, want 403", status)
	}
	e.must(201, "POST", path, `{"clients":["`+rs+`"]}`)
	if status, active := e.introspect(rs, rsSecret, tok); status != 200 || !active {
		t.Fatalf("with the right: %d active %v", status, active)
	}
	if got := e.must(200, "GET", path, "").arr(t); len(got) != 1 || got[0]["client_id"] != rs || got[0]["created_at"] == nil {
		t.Errorf("listed %v", got)
	}
	wantError(t, "again", e.as("POST", path, `{"clients":["`+rs+`"]}`), 409, "resource_server_conflict", "already")
	wantError(t, "unknown client", e.as("POST", path, `{"clients":["nobody"]}`), 404, "inexistent_client", "not found")
	wantError(t, "no clients", e.as("POST", path, `{"clients":[]}`), 400, "invalid_body", "clients")
	spa, _, err := e.svc.CreateLoginClient(e.ctx, admin.LoginClientInput{Name: "SPA", AppType: "spa", RedirectURIs: []string{"https://spa.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, "public client", e.as("POST", path, `{"clients":["`+spa.ClientID+`"]}`), 400, "invalid_body", "public")
	e.must(204, "DELETE", path, `{"clients":["`+rs+`"]}`)
	if status, _ := e.introspect(rs, rsSecret, tok); status != http.StatusForbidden {
		t.Errorf("after the right was taken back: %d, want 403", status)
	}
	wantError(t, "unknown API", e.as("GET", "/api/v2/resource-servers/nope/introspection-clients", ""), 404, "inexistent_resource_server", "")
}

// TestRevokeTokensRoutes: every token of a client, then of a user, is
// revoked through the management API, and the answer says until when.
func TestRevokeTokensRoutes(t *testing.T) {
	e := newEnv(t)
	owner, ownerSecret := e.client(demoAPI, "read")
	rs, rsSecret := e.client(demoAPI)
	if _, err := e.svc.AddIntrospector(e.ctx, demoAPI, rs); err != nil {
		t.Fatal(err)
	}
	e.sync()
	tok := e.tokenFor(owner, ownerSecret, demoAPI)
	got := e.must(200, "POST", "/api/v2/clients/"+owner+"/revoke-tokens", "").obj(t)
	if got["client_id"] != owner || got["revoked_before"] == nil || got["expires_at"] == nil || got["refresh_token_families"] != float64(0) {
		t.Errorf("answer %v", got)
	}
	if _, active := e.introspect(rs, rsSecret, tok); active {
		t.Error("the client's token is active after its tokens were revoked")
	}
	wantError(t, "unknown client", e.as("POST", "/api/v2/clients/nobody/revoke-tokens", ""), 404, "inexistent_client", "")
	u, err := e.svc.CreateUser(e.ctx, admin.UserInput{Email: "alice@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.must(200, "POST", "/api/v2/users/alice@example.com/revoke-tokens", "").obj(t); got["user_id"] != u.UserID {
		t.Errorf("answer %v", got)
	}
	if r := e.as("POST", "/api/v2/users/nobody/revoke-tokens", ""); r.status != 404 || !strings.Contains(string(r.body), "not found") {
		t.Errorf("unknown user: %d %s", r.status, r.body)
	}
}
