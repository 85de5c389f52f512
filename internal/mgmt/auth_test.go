package mgmt_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
)

// TestAuthorization covers RFC 6750 §3 refusals: no token 401 with a bare
// challenge, malformed headers 400, bad tokens 401 invalid_token, a token
// without the route's scope 403 insufficient_scope, all in Auth0's body.
func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	realm := `Bearer realm="` + mgmt.Audience(e.issuer) + `"`
	demoID, demoSecret := e.client(demoAPI, "read")
	otherAudience := e.tokenFor(demoID, demoSecret, demoAPI)
	readOnly := e.token(mgmt.ScopeReadClients)
	disabledID, disabledSecret := e.client(mgmt.Audience(e.issuer), mgmt.ScopeReadClients)
	disabledTok := e.tokenFor(disabledID, disabledSecret, mgmt.Audience(e.issuer))
	e.must(http.StatusOK, "PATCH", "/api/v2/clients/"+disabledID, `{"disabled":true}`)
	deletedID, deletedSecret := e.client(mgmt.Audience(e.issuer), mgmt.ScopeReadClients)
	deletedTok := e.tokenFor(deletedID, deletedSecret, mgmt.Audience(e.issuer))
	e.must(http.StatusNoContent, "DELETE", "/api/v2/clients/"+deletedID, "")
	e.sync()
	narrowedID, narrowedSecret := e.client(mgmt.Audience(e.issuer), mgmt.ScopeReadClients, mgmt.ScopeCreateClients)
	narrowedTok := e.tokenFor(narrowedID, narrowedSecret, mgmt.Audience(e.issuer))
	ungrantedID, ungrantedSecret := e.client(mgmt.Audience(e.issuer), mgmt.ScopeReadClients)
	ungrantedTok := e.tokenFor(ungrantedID, ungrantedSecret, mgmt.Audience(e.issuer))
	for _, g := range e.must(http.StatusOK, "GET", "/api/v2/client-grants?client_id="+narrowedID, "").arr(t) {
		e.must(http.StatusOK, "PATCH", "/api/v2/client-grants/"+str(g, "id"), `{"scope":["read:clients"]}`)
	}
	for _, g := range e.must(http.StatusOK, "GET", "/api/v2/client-grants?client_id="+ungrantedID, "").arr(t) {
		e.must(http.StatusNoContent, "DELETE", "/api/v2/client-grants/"+str(g, "id"), "")
	}
	e.sync()
	// A token signed by a key the server does not have: another server's.
	foreign := newEnv(t).admin

	tests := []struct {
		name      string
		q         req
		status    int
		code      string
		msg       string
		challenge string // prefix of WWW-Authenticate
	}{
		{"no token", req{method: "GET", path: "/api/v2/clients"}, 401, "", "Missing authentication", realm},
		{"another scheme", req{method: "GET", path: "/api/v2/clients", header: http.Header{"Authorization": {"Basic YTpi"}}}, 401, "", "Bearer", realm},
		{"empty bearer", req{method: "GET", path: "/api/v2/clients", header: http.Header{"Authorization": {"Bearer "}}}, 400, "invalid_request", "empty", realm + `, error="invalid_request"`},
		{"two headers", req{method: "GET", path: "/api/v2/clients", header: http.Header{"Authorization": {"Bearer a", "Bearer b"}}}, 400, "invalid_request", "more than one", realm},
		{"garbage", req{method: "GET", path: "/api/v2/clients", token: "not.a.jwt"}, 401, "invalid_token", "malformed", realm + `, error="invalid_token"`},
		{"token of another API", req{method: "GET", path: "/api/v2/clients", token: otherAudience}, 401, "invalid_token", "another audience", realm},
		{"token of another server", req{method: "GET", path: "/api/v2/clients", token: foreign}, 401, "invalid_token", "", realm},
		{"disabled client", req{method: "GET", path: "/api/v2/clients", token: disabledTok}, 401, "invalid_token", "disabled or deleted", realm},
		{"deleted client", req{method: "GET", path: "/api/v2/clients", token: deletedTok}, 401, "invalid_token", "disabled or deleted", realm},
		{"grant narrowed since", req{method: "POST", path: "/api/v2/clients", token: narrowedTok, body: `{"name":"x"}`}, 403, "insufficient_scope", "create:clients", realm},
		{"grant deleted since", req{method: "GET", path: "/api/v2/clients", token: ungrantedTok}, 401, "invalid_token", "no longer has a grant", realm},
		{"without create:clients", req{method: "POST", path: "/api/v2/clients", token: readOnly, body: `{"name":"x"}`}, 403, "insufficient_scope", "create:clients",
			realm + `, error="insufficient_scope", error_description="Insufficient scope, expected: create:clients", scope="create:clients"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.q)
			wantError(t, tt.name, r, tt.status, tt.code, tt.msg)
			if ch := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, tt.challenge) {
				t.Errorf("WWW-Authenticate %q, want it to start with %q", ch, tt.challenge)
			}
			if tt.code == "" && strings.Contains(r.header.Get("WWW-Authenticate"), "error=") {
				t.Errorf("a request without credentials got an error code in the challenge (RFC 6750 §3.1): %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	for _, tok := range []string{readOnly, narrowedTok} {
		if r := e.do(req{method: "GET", path: "/api/v2/clients", token: tok}); r.status != 200 {
			t.Errorf("read:clients on GET /clients = %d %s", r.status, r.body)
		}
	}
}

// TestEveryRouteNeedsItsScope sends every operation with a token that has
// every management scope but the route's (403) and with one that has only
// the route's (admitted).
func TestEveryRouteNeedsItsScope(t *testing.T) {
	e := newEnv(t)
	h, err := mgmt.New(mgmt.Config{Issuer: e.issuer, Admin: e.svc, Keys: e.srv.Keys(), Catalog: e.srv.Catalog()})
	if err != nil {
		t.Fatal(err)
	}
	scopeOf := routeScopes()
	for _, rt := range h.Routes() {
		method, pattern, _ := strings.Cut(rt, " ")
		path := strings.NewReplacer("{id}", "missing", "{secret_id}", "missing", "{credential_id}", "missing").Replace(pattern)
		scope, ok := scopeOf[rt]
		if !ok {
			t.Errorf("%s: the test does not know its scope", rt)
			continue
		}
		t.Run(rt, func(t *testing.T) {
			body := ""
			if method == "POST" || method == "PATCH" {
				body = "{}"
			}
			if scope == "" {
				if r := e.do(req{method: method, path: path}); r.status != 200 {
					t.Errorf("%s without a token = %d, want 200", rt, r.status)
				}
				return
			}
			var others []string
			for _, s := range mgmt.ScopeValues() {
				if s != scope {
					others = append(others, s)
				}
			}
			r := e.do(req{method: method, path: path, token: e.token(others...), body: body})
			wantError(t, rt+" without "+scope, r, 403, "insufficient_scope", scope)
			r = e.do(req{method: method, path: path, token: e.token(scope), body: body})
			if r.status == 401 || r.status == 403 {
				t.Errorf("%s with only %s = %d %s", rt, scope, r.status, r.body)
			}
		})
	}
}

// routeScopes is the scope each operation needs, written out here so that a
// change in the handler's table must be made twice.
func routeScopes() map[string]string {
	return map[string]string{
		"GET /api/v2/openapi.json":                                          "",
		"GET /api/v2/resource-servers":                                      "read:resource_servers",
		"POST /api/v2/resource-servers":                                     "create:resource_servers",
		"GET /api/v2/resource-servers/{id}":                                 "read:resource_servers",
		"PATCH /api/v2/resource-servers/{id}":                               "update:resource_servers",
		"DELETE /api/v2/resource-servers/{id}":                              "delete:resource_servers",
		"GET /api/v2/clients":                                               "read:clients",
		"POST /api/v2/clients":                                              "create:clients",
		"GET /api/v2/clients/{id}":                                          "read:clients",
		"PATCH /api/v2/clients/{id}":                                        "update:clients",
		"DELETE /api/v2/clients/{id}":                                       "delete:clients",
		"POST /api/v2/clients/{id}/rotate-secret":                           "update:client_keys",
		"GET /api/v2/clients/{id}/secrets":                                  "read:client_keys",
		"POST /api/v2/clients/{id}/secrets":                                 "update:client_keys",
		"DELETE /api/v2/clients/{id}/secrets/{secret_id}":                   "update:client_keys",
		"GET /api/v2/client-grants":                                         "read:client_grants",
		"POST /api/v2/client-grants":                                        "create:client_grants",
		"GET /api/v2/client-grants/{id}":                                    "read:client_grants",
		"PATCH /api/v2/client-grants/{id}":                                  "update:client_grants",
		"DELETE /api/v2/client-grants/{id}":                                 "delete:client_grants",
		"GET /api/v2/keys":                                                  "read:signing_keys",
		"POST /api/v2/keys/rotate":                                          "update:signing_keys",
		"GET /api/v2/users":                                                 "read:users",
		"POST /api/v2/users":                                                "create:users",
		"GET /api/v2/users/{id}":                                            "read:users",
		"PATCH /api/v2/users/{id}":                                          "update:users",
		"DELETE /api/v2/users/{id}":                                         "delete:users",
		"GET /api/v2/clients/{id}/credentials":                              "read:client_credentials",
		"POST /api/v2/clients/{id}/credentials":                             "create:client_credentials",
		"GET /api/v2/clients/{id}/credentials/{credential_id}":              "read:client_credentials",
		"PATCH /api/v2/clients/{id}/credentials/{credential_id}":            "update:client_credentials",
		"DELETE /api/v2/clients/{id}/credentials/{credential_id}":           "delete:client_credentials",
		"GET /api/v2/clients/{id}/federated-credentials":                    "read:client_credentials",
		"POST /api/v2/clients/{id}/federated-credentials":                   "create:client_credentials",
		"GET /api/v2/clients/{id}/federated-credentials/{credential_id}":    "read:client_credentials",
		"DELETE /api/v2/clients/{id}/federated-credentials/{credential_id}": "delete:client_credentials",
		"GET /api/v2/users/{id}/roles":                                      "read:role_members",
		"POST /api/v2/users/{id}/roles":                                     "create:role_members",
		"DELETE /api/v2/users/{id}/roles":                                   "delete:role_members",
		"GET /api/v2/users/{id}/permissions":                                "read:users",
		"POST /api/v2/users/{id}/permissions":                               "update:users",
		"DELETE /api/v2/users/{id}/permissions":                             "update:users",
		"GET /api/v2/roles":                                                 "read:roles",
		"POST /api/v2/roles":                                                "create:roles",
		"GET /api/v2/roles/{id}":                                            "read:roles",
		"PATCH /api/v2/roles/{id}":                                          "update:roles",
		"DELETE /api/v2/roles/{id}":                                         "delete:roles",
		"GET /api/v2/roles/{id}/permissions":                                "read:roles",
		"POST /api/v2/roles/{id}/permissions":                               "update:roles",
		"DELETE /api/v2/roles/{id}/permissions":                             "update:roles",
		"GET /api/v2/roles/{id}/users":                                      "read:role_members",
		"POST /api/v2/roles/{id}/users":                                     "create:role_members",

		"GET /api/v2/resource-servers/{id}/introspection-clients":    "read:resource_servers",
		"POST /api/v2/resource-servers/{id}/introspection-clients":   "update:resource_servers",
		"DELETE /api/v2/resource-servers/{id}/introspection-clients": "update:resource_servers",
		"POST /api/v2/clients/{id}/revoke-tokens":                    "update:clients",
		"POST /api/v2/users/{id}/revoke-tokens":                      "update:users",
	}
}

// TestRouting answers unknown paths 404 and other methods 405 with Allow,
// in Auth0's error shape, before looking at credentials.
func TestRouting(t *testing.T) {
	e := newEnv(t)
	wantError(t, "unknown path", e.do(req{method: "GET", path: "/api/v2/logs"}), 404, "inexistent_resource", "/api/v2/logs")
	r := e.do(req{method: "PUT", path: "/api/v2/clients"})
	wantError(t, "PUT /clients", r, 405, "method_not_allowed", "PUT")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Errorf("Allow %q", allow)
	}
	// An identifier in the path, escaped, is one segment.
	r = e.as("GET", "/api/v2/resource-servers/"+url.PathEscape(demoAPI), "")
	if r.status != 200 || str(r.obj(t), "identifier") != demoAPI {
		t.Errorf("GET by escaped identifier = %d %s", r.status, r.body)
	}
}

// TestClientKeysNeedCredentialScopes: update:clients alone cannot give a
// client a key to be known by, which would let its holder plant its own
// key and obtain the client's tokens (it cannot read or add a secret
// either, which needs update:client_keys): a credential defined in
// client_authentication_methods needs create:client_credentials, a
// jwks_uri or tls_client_auth name update:client_credentials. Naming an
// existing credential by id, or clearing, needs update:clients alone.
func TestClientKeysNeedCredentialScopes(t *testing.T) {
	e := newEnv(t)
	id, _ := e.client(demoAPI)
	path := "/api/v2/clients/" + id
	pk := e.must(201, "POST", path+"/credentials", jsonBody(map[string]any{"credential_type": "public_key", "pem": testPublicKeyPEM(t)})).obj(t)
	inline := jsonBody(map[string]any{"client_authentication_methods": map[string]any{"private_key_jwt": map[string]any{
		"credentials": []map[string]any{{"credential_type": "public_key", "pem": testPublicKeyPEM(t)}}}}})
	byID := `{"client_authentication_methods":{"private_key_jwt":{"credentials":[{"id":"` + str(pk, "id") + `"}]}}}`
	jwks := `{"jwks_uri":"https://keys.example.com/jwks.json"}`
	san := `{"tls_client_auth_san_dns":"attacker.example.com"}`

	clientsOnly := e.token(mgmt.ScopeUpdateClients)
	for _, tc := range []struct{ name, body, scope string }{
		{"a credential defined in full", inline, mgmt.ScopeCreateClientCredentials},
		{"a jwks_uri", jwks, mgmt.ScopeUpdateClientCredentials},
		{"a tls_client_auth name", san, mgmt.ScopeUpdateClientCredentials},
	} {
		r := e.do(req{method: "PATCH", path: path, token: clientsOnly, body: tc.body})
		wantError(t, tc.name+" with update:clients alone", r, 403, "insufficient_scope", tc.scope)
	}
	if c := e.must(200, "GET", path, "").obj(t); c["client_authentication_methods"] != nil || c["jwks_uri"] != nil || c["tls_client_auth_san_dns"] != nil {
		t.Errorf("a refused PATCH changed the client: %v", c)
	}
	if r := e.do(req{method: "PATCH", path: path, token: clientsOnly, body: byID}); r.status != 200 {
		t.Errorf("naming an existing credential with update:clients: %d %s", r.status, r.body)
	}
	if r := e.do(req{method: "PATCH", path: path, token: clientsOnly, body: `{"client_authentication_methods":null,"token_endpoint_auth_method":"client_secret_post"}`}); r.status != 200 {
		t.Errorf("clearing with update:clients: %d %s", r.status, r.body)
	}
	full := e.token(mgmt.ScopeUpdateClients, mgmt.ScopeCreateClientCredentials, mgmt.ScopeUpdateClientCredentials)
	for _, body := range []string{inline, `{"client_authentication_methods":null,"jwks_uri":"https://keys.example.com/jwks.json"}`} {
		if r := e.do(req{method: "PATCH", path: path, token: full, body: body}); r.status != 200 {
			t.Errorf("with the credentials scopes, %s: %d %s", body, r.status, r.body)
		}
	}
	// Sent again unchanged (a client read and written back), it needs no more.
	if r := e.do(req{method: "PATCH", path: path, token: clientsOnly, body: jwks}); r.status != 200 {
		t.Errorf("the same jwks_uri again with update:clients: %d %s", r.status, r.body)
	}
}
