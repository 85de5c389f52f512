package mgmt_test

import (
	"testing"
)

// TestLoginClients: regular_web, spa and native clients through POST
// /clients with Auth0's callbacks, allowed_logout_urls and is_first_party;
// the login settings and app_type are fixed afterwards.
func TestLoginClients(t *testing.T) {
	e := newEnv(t)
	web := e.must(201, "POST", "/api/v2/clients", `{"name":"web","app_type":"regular_web","callbacks":["https://app.example.com/cb"],
		"allowed_logout_urls":["https://app.example.com/"]}`).obj(t)
	if str(web, "client_secret") == "" || web["token_endpoint_auth_method"] != "client_secret_post" || web["is_first_party"] != false ||
		jsonBody(web["grant_types"]) != `["authorization_code","refresh_token"]` || jsonBody(web["callbacks"]) != `["https://app.example.com/cb"]` ||
		jsonBody(web["allowed_logout_urls"]) != `["https://app.example.com/"]` {
		t.Errorf("regular_web: %v", web)
	}
	spa := e.must(201, "POST", "/api/v2/clients", `{"name":"spa","app_type":"spa","callbacks":["https://spa.example.com/"],"is_first_party":true,
		"grant_types":["authorization_code"]}`).obj(t)
	if _, ok := spa["client_secret"]; ok || spa["token_endpoint_auth_method"] != "none" || spa["is_first_party"] != true ||
		jsonBody(spa["grant_types"]) != `["authorization_code"]` {
		t.Errorf("spa: %v", spa)
	}
	m2m := e.must(201, "POST", "/api/v2/clients", `{"name":"svc"}`).obj(t)
	if m2m["is_first_party"] != true || jsonBody(m2m["callbacks"]) != `[]` {
		t.Errorf("m2m: %v", m2m)
	}
	path := "/api/v2/clients/" + str(spa, "client_id")
	if r := e.must(200, "PATCH", path, `{"name":"spa2","app_type":"spa","callbacks":["https://spa.example.com/"]}`).obj(t); r["name"] != "spa2" {
		t.Errorf("a PATCH repeating the fixed settings: %v", r)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"app_type", `{"app_type":"native"}`, "cannot be changed"},
		{"callbacks", `{"callbacks":["https://other.example.com/"]}`, "cannot be changed"},
		{"grant_types", `{"grant_types":["client_credentials"]}`, "not supported"},
		{"secret method on a public client", `{"token_endpoint_auth_method":"client_secret_post"}`, "must be none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, "PATCH "+tc.name, e.as("PATCH", path, tc.body), 400, "invalid_body", tc.want)
		})
	}
	wantError(t, "public client_credentials", e.as("POST", "/api/v2/clients", `{"name":"x","app_type":"native","callbacks":["com.example.app:/cb"],
		"grant_types":["authorization_code","client_credentials"]}`), 400, "invalid_body", "cannot use client_credentials")
	wantError(t, "wildcard callback", e.as("POST", "/api/v2/clients", `{"name":"x","app_type":"spa","callbacks":["https://*.example.com/"]}`),
		400, "invalid_body", "wildcard")
}
