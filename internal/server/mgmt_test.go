package server_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
)

// TestManagementAPIBuiltIn checks that a server creates its management API
// at start and serves it under /api/v2/ behind its own tokens.
func TestManagementAPIBuiltIn(t *testing.T) {
	f := newFixture(t)
	aud := mgmt.Audience(f.issuer)
	api, err := f.store.GetAPI(f.ctx, aud)
	if err != nil {
		t.Fatalf("the management API %s was not created at start: %v", aud, err)
	}
	if len(api.Scopes) != len(mgmt.Scopes) || api.Name != mgmt.APIName {
		t.Errorf("management API = %+v", api)
	}
	if _, ok := f.srv.Catalog().Snapshot().API(aud); !ok {
		t.Error("the management API is not in the first catalog")
	}
	// No token: 401 with a Bearer challenge, in Auth0's body.
	resp, err := f.http.Client().Get(f.http.URL + "/api/v2/clients")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" || body["statusCode"] != float64(401) {
		t.Errorf("GET /api/v2/clients without a token = %d %v", resp.StatusCode, body)
	}
	// An admin client's token is admitted.
	ac, err := mgmt.Bootstrap(f.ctx, f.admin, f.issuer, "admin")
	if err != nil {
		t.Fatal(err)
	}
	f.sync()
	tok := f.postForm("grant_type", "client_credentials", "client_id", ac.Client.ClientID, "client_secret", ac.Secret.Plain, "audience", aud)
	if tok.status != 200 {
		t.Fatalf("admin token: %d %v", tok.status, tok.raw)
	}
	req, _ := http.NewRequest("GET", f.http.URL+"/api/v2/clients?include_totals=true", nil)
	req.Header.Set("Authorization", "Bearer "+tok.str("access_token"))
	resp, err = f.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body = nil
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body["total"] != float64(2) {
		t.Errorf("GET /api/v2/clients with the admin token = %d %v", resp.StatusCode, body)
	}
}
