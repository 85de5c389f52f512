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
	// Web origins (CORS): Auth0's two lists are one here, changeable.
	o := e.must(201, "POST", "/api/v2/clients", `{"name":"o","app_type":"spa","callbacks":["https://spa.example.com/"],
		"web_origins":["https://spa.example.com"],"allowed_origins":["https://spa.example.com","http://127.0.0.1:5173"]}`).obj(t)
	if jsonBody(o["web_origins"]) != `["https://spa.example.com","http://127.0.0.1:5173"]` || jsonBody(o["allowed_origins"]) != jsonBody(o["web_origins"]) {
		t.Errorf("web origins: %v", o)
	}
	op := "/api/v2/clients/" + str(o, "client_id")
	if r := e.must(200, "PATCH", op, `{"web_origins":["https://new.example.com"]}`).obj(t); jsonBody(r["web_origins"]) != `["https://new.example.com"]` {
		t.Errorf("web origins after PATCH: %v", r)
	}
	if r := e.must(200, "GET", op, ``).obj(t); jsonBody(r["allowed_origins"]) != `["https://new.example.com"]` {
		t.Errorf("web origins as read back: %v", r)
	}
	wantError(t, "web origin with a path", e.as("PATCH", op, `{"allowed_origins":["https://spa.example.com/app"]}`), 400, "invalid_body", "without a path")
	wantError(t, "web origins of an M2M client", e.as("POST", "/api/v2/clients", `{"name":"x","web_origins":["https://a.example"]}`),
		400, "invalid_body", "for login clients")
	wantError(t, "web origins added to an M2M client", e.as("PATCH", "/api/v2/clients/"+str(m2m, "client_id"), `{"web_origins":["https://a.example"]}`),
		400, "invalid_body", "logs no users in")
	wantError(t, "wildcard callback", e.as("POST", "/api/v2/clients", `{"name":"x","app_type":"spa","callbacks":["https://*.example.com/"]}`),
		400, "invalid_body", "wildcard")
}
