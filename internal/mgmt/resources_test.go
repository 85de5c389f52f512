package mgmt_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
)

func TestResourceServers(t *testing.T) {
	e := newEnv(t)
	const id = "https://orders.test/"
	r := e.must(201, "POST", "/api/v2/resource-servers", `{"identifier":"`+id+`","name":"Orders","scopes":[{"value":"read:orders","description":"Read orders"}],
		"signing_alg":"ES256","token_lifetime":3600,"token_dialect":"access_token"}`)
	created := r.obj(t)
	want := map[string]any{"identifier": id, "name": "Orders", "signing_alg": "ES256", "token_lifetime": float64(3600),
		"token_dialect": "access_token", "is_system": false, "id": mgmt.ResourceServerID(id)}
	for k, v := range want {
		if created[k] != v {
			t.Errorf("created %s = %v, want %v", k, created[k], v)
		}
	}
	if sc, _ := created["scopes"].([]any); len(sc) != 1 || jsonBody(sc[0]) != `{"description":"Read orders","value":"read:orders"}` {
		t.Errorf("scopes = %v", created["scopes"])
	}
	// The new API issues tokens in Auth0's dialect with its own key.
	cid, csec := e.client(id, "read:orders")
	if status, tok := e.tokenResult(cid, csec, id); status != 200 || tok == "" {
		t.Errorf("token for the new API: %d", status)
	}

	// Defaults: Auth0's dialect, as Auth0's management API creates an API.
	r = e.must(201, "POST", "/api/v2/resource-servers", `{"identifier":"urn:defaults"}`)
	def := r.obj(t)
	if def["name"] != "urn:defaults" || def["signing_alg"] != "RS256" || def["token_lifetime"] != float64(86400) || def["token_dialect"] != "access_token" {
		t.Errorf("defaults: %s", r.body)
	}

	// One, by id or by identifier.
	for _, key := range []string{mgmt.ResourceServerID(id), url.PathEscape(id)} {
		r = e.must(200, "GET", "/api/v2/resource-servers/"+key, "")
		if r.obj(t)["identifier"] != id {
			t.Errorf("GET by %s: %s", key, r.body)
		}
	}
	// The list has the built-in API, marked as the system one.
	list := e.must(200, "GET", "/api/v2/resource-servers", "").arr(t)
	var system []string
	for _, a := range list {
		if a["is_system"] == true {
			system = append(system, str(a, "identifier"))
		}
	}
	if len(list) != 4 || !slices.Equal(system, []string{mgmt.Audience(e.issuer)}) {
		t.Errorf("list: %d APIs, system %v", len(list), system)
	}
	if got := mgmt.Audience(e.issuer); strings.HasSuffix(got, "//api/v2/") || !strings.HasSuffix(got, "/api/v2/") {
		t.Errorf("audience %q", got)
	}

	errs := []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"duplicate", `{"identifier":"` + id + `"}`, 409, "resource_server_conflict", "already exists"},
		{"no identifier", `{"name":"x"}`, 400, "invalid_body", `"identifier" is required`},
		{"bad identifier", `{"identifier":"not a uri"}`, 400, "invalid_body", "white space"},
		{"authz dialect without RBAC", `{"identifier":"urn:x","token_dialect":"rfc9068_profile_authz"}`, 400, "invalid_body", "needs enforce policies"},
		{"bad subject type policy", `{"identifier":"urn:x","subject_type_authorization":{"user":{"policy":"yes"}}}`, 400, "invalid_body", `user access policy "yes"`},
		{"unknown dialect", `{"identifier":"urn:x","token_dialect":"rfc9068"}`, 400, "invalid_body", "token_dialect \"rfc9068\""},
		{"zero lifetime", `{"identifier":"urn:x","token_lifetime":0}`, 400, "invalid_body", "token_lifetime 0"},
		{"long lifetime", `{"identifier":"urn:x","token_lifetime":2592001}`, 400, "invalid_body", "30 days"},
		{"bad alg", `{"identifier":"urn:x","signing_alg":"HS256"}`, 400, "invalid_body", "HS256"},
		{"empty alg", `{"identifier":"urn:x","signing_alg":""}`, 400, "invalid_body", "signing algorithm"},
		{"every problem", `{"identifier":"urn:x","signing_alg":"none","scopes":[{"value":"a b"},{"value":"c"},{"value":"c"}]}`, 400, "invalid_body", `scope "c" is given twice`},
		{"unknown field", `{"identifier":"urn:x","enforce_policy":true}`, 400, "invalid_body", `unknown field "enforce_policy"`},
		{"unknown nested field", `{"identifier":"urn:x","scopes":[{"value":"a","name":"b"}]}`, 400, "invalid_body", `unknown field "name"`},
		{"wrong type", `{"identifier":"urn:x","token_lifetime":"1h"}`, 400, "invalid_body", `field "token_lifetime" must be an integer`},
		{"wrong nested type", `{"identifier":"urn:x","scopes":[{"value":1}]}`, 400, "invalid_body", `field "scopes.value" must be a string`},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.name, e.as("POST", "/api/v2/resource-servers", tt.body), tt.status, tt.code, tt.msg)
		})
	}
	if list2 := e.must(200, "GET", "/api/v2/resource-servers", "").arr(t); len(list2) != len(list) {
		t.Errorf("refused creations changed the list: %d, want %d", len(list2), len(list))
	}

	// Delete is idempotent; the built-in API cannot go.
	e.must(204, "DELETE", "/api/v2/resource-servers/"+mgmt.ResourceServerID(id), "")
	e.must(204, "DELETE", "/api/v2/resource-servers/"+mgmt.ResourceServerID(id), "")
	e.must(204, "DELETE", "/api/v2/resource-servers/"+url.PathEscape("urn:defaults"), "")
	wantError(t, "get deleted", e.as("GET", "/api/v2/resource-servers/"+url.PathEscape(id), ""), 404, "inexistent_resource_server", "not found")
	wantError(t, "delete system", e.as("DELETE", "/api/v2/resource-servers/"+url.PathEscape(mgmt.Audience(e.issuer)), ""), 403, "operation_not_supported", "built in")
	e.sync()
	if status, _ := e.tokenResult(cid, csec, id); status != 400 {
		t.Errorf("token for a deleted API: %d, want 400 invalid_target", status)
	}
}

func TestClients(t *testing.T) {
	e := newEnv(t)
	r := e.must(201, "POST", "/api/v2/clients", `{"name":"billing","description":"bills","app_type":"non_interactive",
		"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic","client_metadata":{"team":"payments"}}`)
	c := r.obj(t)
	id, secret := str(c, "client_id"), str(c, "client_secret")
	if id == "" || secret == "" || c["name"] != "billing" || c["description"] != "bills" || c["app_type"] != "non_interactive" ||
		c["token_endpoint_auth_method"] != "client_secret_basic" || jsonBody(c["client_metadata"]) != `{"team":"payments"}` ||
		jsonBody(c["grant_types"]) != `["client_credentials"]` || c["disabled"] != false {
		t.Errorf("created: %s", r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on an answer with a secret", cc)
	}
	// The secret works at the token endpoint.
	if _, err := e.svc.CreateGrant(e.ctx, id, demoAPI, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	// The secret works at the token endpoint, by the registered method only
	// (RFC 7591 §2 token_endpoint_auth_method).
	if status, _ := e.tokenResult(id, secret, demoAPI); status != 401 {
		t.Errorf("token by client_secret_post for a client_secret_basic client: %d, want 401", status)
	}
	req, _ := http.NewRequest("POST", e.http.URL+"/oauth/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "audience": {demoAPI}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("token with the created secret by HTTP Basic: %d", resp.StatusCode)
	}
	// Reads never show a secret.
	got := e.must(200, "GET", "/api/v2/clients/"+id, "")
	if strings.Contains(string(got.body), "client_secret\"") || got.obj(t)["name"] != "billing" {
		t.Errorf("GET one: %s", got.body)
	}
	list := e.must(200, "GET", "/api/v2/clients", "")
	if strings.Contains(string(list.body), secret) || len(list.arr(t)) != 2 { // the admin and this one
		t.Errorf("GET list: %s", list.body)
	}

	// PATCH changes what it names.
	r = e.must(200, "PATCH", "/api/v2/clients/"+id, `{"name":"billing-v2","client_metadata":{"tier":"gold"},"disabled":true}`)
	p := r.obj(t)
	if p["name"] != "billing-v2" || p["description"] != "bills" || jsonBody(p["client_metadata"]) != `{"tier":"gold"}` || p["disabled"] != true ||
		p["token_endpoint_auth_method"] != "client_secret_basic" {
		t.Errorf("patched: %s", r.body)
	}
	e.sync()
	if status, _ := e.tokenResult(id, secret, demoAPI); status != 401 {
		t.Errorf("token of a client disabled through PATCH: %d, want 401", status)
	}
	e.must(200, "PATCH", "/api/v2/clients/"+id, `{"disabled":false}`)

	errs := []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"no name", "POST", "/api/v2/clients", `{"description":"x"}`, 400, "invalid_body", `"name" is required`},
		{"blank name", "POST", "/api/v2/clients", `{"name":"  "}`, 400, "invalid_body", "name is required"},
		{"spa without callbacks", "POST", "/api/v2/clients", `{"name":"x","app_type":"spa"}`, 400, "invalid_body", `at least one redirect URI`},
		{"unknown app type", "POST", "/api/v2/clients", `{"name":"x","app_type":"tv"}`, 400, "invalid_body", `app_type "tv" is not supported`},
		{"callbacks on M2M", "POST", "/api/v2/clients", `{"name":"x","callbacks":["https://a.example.com/"]}`, 400, "invalid_body", `for login clients`},
		{"code grant", "POST", "/api/v2/clients", `{"name":"x","grant_types":["authorization_code"]}`, 400, "invalid_body", "grant_types"},
		{"public client", "POST", "/api/v2/clients", `{"name":"x","token_endpoint_auth_method":"none"}`, 400, "invalid_body", `"none" must be one of`},
		{"empty method", "POST", "/api/v2/clients", `{"name":"x","token_endpoint_auth_method":""}`, 400, "invalid_body", "must be one of"},
		{"bad metadata", "POST", "/api/v2/clients", `{"name":"x","client_metadata":{"a b":"c"}}`, 400, "invalid_body", `metadata key "a b"`},
		{"metadata not strings", "POST", "/api/v2/clients", `{"name":"x","client_metadata":{"n":1}}`, 400, "invalid_body", `field "client_metadata" must be an object of string values`},
		{"created disabled", "POST", "/api/v2/clients", `{"name":"x","disabled":true}`, 400, "invalid_body", "created enabled"},
		{"unknown field", "POST", "/api/v2/clients", `{"name":"x","jwt_config":{}}`, 400, "invalid_body", `unknown field "jwt_config"`},
		{"case matters", "POST", "/api/v2/clients", `{"Name":"x"}`, 400, "invalid_body", `unknown field "Name"`},
		{"patch unknown", "PATCH", "/api/v2/clients/missing", `{"name":"x"}`, 404, "inexistent_client", `client "missing" not found`},
		{"patch invalid", "PATCH", "/api/v2/clients/" + id, `{"name":"","token_endpoint_auth_method":"client_secret_jwt"}`, 400, "invalid_body", "client_secret_jwt"},
		{"patch wrong type", "PATCH", "/api/v2/clients/" + id, `{"disabled":"yes"}`, 400, "invalid_body", `field "disabled" must be a boolean`},
		{"get unknown", "GET", "/api/v2/clients/missing", "", 404, "inexistent_client", "not found"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.name, e.as(tt.method, tt.path, tt.body), tt.status, tt.code, tt.msg)
		})
	}
	if after := e.must(200, "GET", "/api/v2/clients/"+id, "").obj(t); after["name"] != "billing-v2" {
		t.Errorf("a refused PATCH changed the client: %v", after)
	}

	e.must(204, "DELETE", "/api/v2/clients/"+id, "")
	e.must(204, "DELETE", "/api/v2/clients/"+id, "")
	wantError(t, "get deleted", e.as("GET", "/api/v2/clients/"+id, ""), 404, "inexistent_client", "not found")
	e.sync()
	if status, _ := e.tokenResult(id, secret, demoAPI); status != 401 {
		t.Errorf("token of a deleted client: %d, want 401", status)
	}
}

func TestRotateSecret(t *testing.T) {
	e := newEnv(t)
	rotate := func(id, query string) (int, string) {
		t.Helper()
		r := e.as("POST", "/api/v2/clients/"+id+"/rotate-secret"+query, "")
		return r.status, str(r.obj(t), "client_secret")
	}
	id, old := e.client(demoAPI, "read")
	status, fresh := rotate(id, "")
	if status != 200 || fresh == "" || fresh == old {
		t.Fatalf("rotate-secret = %d", status)
	}
	e.sync()
	if s, _ := e.tokenResult(id, old, demoAPI); s != 401 {
		t.Errorf("the old secret after rotate-secret: %d, want 401 (it stops at once)", s)
	}
	if s, _ := e.tokenResult(id, fresh, demoAPI); s != 200 {
		t.Errorf("the new secret: %d", s)
	}
	// With grace the older secret goes on working.
	status, newest := rotate(id, "?grace=1h")
	e.sync()
	if s, _ := e.tokenResult(id, fresh, demoAPI); status != 200 || s != 200 {
		t.Errorf("rotate with grace=1h: %d; the previous secret then: %d, want 200", status, s)
	}
	if s, _ := e.tokenResult(id, newest, demoAPI); s != 200 {
		t.Errorf("the newest secret: %d", s)
	}
	secrets := e.must(200, "GET", "/api/v2/clients/"+id+"/secrets", "").arr(t)
	var capped int
	for _, s := range secrets {
		if exp := str(s, "expires_at"); exp != "" {
			at, _ := time.Parse(time.RFC3339, exp)
			if at.After(time.Now().Add(59*time.Minute)) && at.Before(time.Now().Add(61*time.Minute)) {
				capped++
			}
		}
	}
	if capped != 1 {
		t.Errorf("after grace=1h, %d secrets expire in an hour, want 1: %v", capped, secrets)
	}
	if s, _ := rotate(id, "?grace=3600"); s != 200 {
		t.Errorf("grace in seconds: %d", s)
	}
	wantError(t, "bad grace", e.as("POST", "/api/v2/clients/"+id+"/rotate-secret?grace=soon", ""), 400, "invalid_query_string", "grace")
	wantError(t, "negative grace", e.as("POST", "/api/v2/clients/"+id+"/rotate-secret?grace=-1h", ""), 400, "invalid_query_string", "not negative")
	wantError(t, "two graces", e.as("POST", "/api/v2/clients/"+id+"/rotate-secret?grace=1h&grace=2h", ""), 400, "invalid_query_string", "more than once")
	wantError(t, "a body", e.as("POST", "/api/v2/clients/"+id+"/rotate-secret", `{"grace":"1h"}`), 400, "invalid_body", "no body")
	wantError(t, "unknown client", e.as("POST", "/api/v2/clients/missing/rotate-secret", ""), 404, "inexistent_client", "not found")
}

func TestSecrets(t *testing.T) {
	e := newEnv(t)
	id, first := e.client(demoAPI, "read")
	now := time.Now().UTC()
	later := now.Add(48 * time.Hour).Truncate(time.Second)
	end := now.Add(72 * time.Hour).Truncate(time.Second)
	r := e.must(201, "POST", "/api/v2/clients/"+id+"/secrets", `{"not_before":"`+later.Format(time.RFC3339)+`","expires_at":"`+end.Format(time.RFC3339)+`"}`)
	added := r.obj(t)
	if str(added, "client_secret") == "" || str(added, "not_before") != later.Format(time.RFC3339) || str(added, "client_id") != id {
		t.Errorf("added: %s", r.body)
	}
	if exp, _ := time.Parse(time.RFC3339, str(added, "expires_at")); exp.Sub(end).Abs() > 2*time.Second {
		t.Errorf("expires_at %s, want %s", str(added, "expires_at"), end)
	}
	// A secret active from now, without a body.
	plain := e.must(201, "POST", "/api/v2/clients/"+id+"/secrets", "").obj(t)
	e.sync()
	if s, _ := e.tokenResult(id, str(plain, "client_secret"), demoAPI); s != 200 {
		t.Errorf("a secret added now: %d", s)
	}
	if s, _ := e.tokenResult(id, str(added, "client_secret"), demoAPI); s != 401 {
		t.Errorf("a secret active in 48 h: %d, want 401", s)
	}
	list := e.must(200, "GET", "/api/v2/clients/"+id+"/secrets", "")
	if n := len(list.arr(t)); n != 3 || strings.Contains(string(list.body), first) || strings.Contains(string(list.body), "client_secret") {
		t.Errorf("list: %s", list.body)
	}
	errs := []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"past expiry", `{"expires_at":"2001-01-01T00:00:00Z"}`, 400, "invalid_body", "not in the future"},
		{"expires before active", `{"not_before":"` + end.Format(time.RFC3339) + `","expires_at":"` + later.Format(time.RFC3339) + `"}`, 400, "invalid_body", "before it becomes active"},
		{"not a time", `{"not_before":"tomorrow"}`, 400, "invalid_body", "not_before"},
		{"unknown field", `{"value":"mine"}`, 400, "invalid_body", `unknown field "value"`},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.name, e.as("POST", "/api/v2/clients/"+id+"/secrets", tt.body), tt.status, tt.code, tt.msg)
		})
	}
	wantError(t, "add to unknown", e.as("POST", "/api/v2/clients/missing/secrets", "{}"), 404, "inexistent_client", "not found")
	wantError(t, "list unknown", e.as("GET", "/api/v2/clients/missing/secrets", ""), 404, "inexistent_client", "not found")

	e.must(204, "DELETE", "/api/v2/clients/"+id+"/secrets/"+str(plain, "id"), "")
	e.must(204, "DELETE", "/api/v2/clients/"+id+"/secrets/"+str(plain, "id"), "")
	e.sync()
	if s, _ := e.tokenResult(id, str(plain, "client_secret"), demoAPI); s != 401 {
		t.Errorf("a revoked secret: %d, want 401", s)
	}
	if n := len(e.must(200, "GET", "/api/v2/clients/"+id+"/secrets", "").arr(t)); n != 2 {
		t.Errorf("%d secrets after revoking one of 3", n)
	}
}

func TestClientGrants(t *testing.T) {
	e := newEnv(t)
	c := e.must(201, "POST", "/api/v2/clients", `{"name":"reporting"}`).obj(t)
	id, secret := str(c, "client_id"), str(c, "client_secret")
	r := e.must(201, "POST", "/api/v2/client-grants", jsonBody(map[string]any{"client_id": id, "audience": demoAPI, "scope": []string{"read"}}))
	g := r.obj(t)
	if str(g, "id") == "" || g["client_id"] != id || g["audience"] != demoAPI || jsonBody(g["scope"]) != `["read"]` || g["subject_type"] != "client" || len(g) != 7 {
		t.Errorf("created: %s", r.body)
	}
	e.sync()
	if s, _ := e.tokenResult(id, secret, demoAPI); s != 200 {
		t.Errorf("token through the new grant: %d", s)
	}
	errs := []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"second for the pair", jsonBody(map[string]any{"client_id": id, "audience": demoAPI, "scope": []string{}}), 409, "client_grant_conflict", "already has a grant"},
		{"missing fields", `{"client_id":"x"}`, 400, "invalid_body", `"audience", "scope"`},
		{"undefined scope", jsonBody(map[string]any{"client_id": id, "audience": mgmt.Audience(e.issuer), "scope": []string{"read:stats"}}), 400, "invalid_body", `"read:stats"`},
		{"unknown client", jsonBody(map[string]any{"client_id": "missing", "audience": demoAPI, "scope": []string{}}), 404, "inexistent_client", `client "missing"`},
		{"unknown API", jsonBody(map[string]any{"client_id": id, "audience": "https://nope.test", "scope": []string{}}), 404, "inexistent_resource_server", "https://nope.test"},
		{"scope as a string", jsonBody(map[string]any{"client_id": id, "audience": demoAPI, "scope": "read"}), 400, "invalid_body", `field "scope" must be an array of strings`},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.name, e.as("POST", "/api/v2/client-grants", tt.body), tt.status, tt.code, tt.msg)
		})
	}
	// Filters.
	all := e.must(200, "GET", "/api/v2/client-grants", "").arr(t)
	byAud := e.must(200, "GET", "/api/v2/client-grants?audience="+url.QueryEscape(demoAPI), "").arr(t)
	byClient := e.must(200, "GET", "/api/v2/client-grants?client_id="+id, "").arr(t)
	both := e.must(200, "GET", "/api/v2/client-grants?client_id="+id+"&audience="+url.QueryEscape(mgmt.Audience(e.issuer)), "").arr(t)
	if len(all) != 2 || len(byAud) != 1 || len(byClient) != 1 || len(both) != 0 || byAud[0]["id"] != g["id"] {
		t.Errorf("filters: all %d, audience %d, client %d, both %d", len(all), len(byAud), len(byClient), len(both))
	}
	wantError(t, "two audiences", e.as("GET", "/api/v2/client-grants?audience=a&audience=b", ""), 400, "invalid_query_string", "audience")

	gid := str(g, "id")
	if one := e.must(200, "GET", "/api/v2/client-grants/"+gid, "").obj(t); one["id"] != gid {
		t.Errorf("GET one: %v", one)
	}
	e.must(204, "DELETE", "/api/v2/client-grants/"+gid, "")
	e.must(204, "DELETE", "/api/v2/client-grants/"+gid, "")
	wantError(t, "get deleted", e.as("GET", "/api/v2/client-grants/"+gid, ""), 404, "inexistent_client_grant", "not found")
	e.sync()
	if s, _ := e.tokenResult(id, secret, demoAPI); s != 403 {
		t.Errorf("token after the grant's deletion: %d, want 403", s)
	}
}

func TestKeys(t *testing.T) {
	e := newEnv(t)
	before := e.must(200, "GET", "/api/v2/keys", "").arr(t)
	states := func(list []map[string]any) map[string]int {
		out := map[string]int{}
		for _, k := range list {
			out[str(k, "alg")+"/"+str(k, "state")]++
			if _, ok := k["private_key"]; ok || len(k) != 4 {
				t.Errorf("key view %v", k)
			}
		}
		return out
	}
	if s := states(before); s["RS256/current"] != 1 || s["RS256/next"] != 1 {
		t.Errorf("keys: %v", s)
	}
	wantError(t, "too soon", e.as("POST", "/api/v2/keys/rotate", ""), 409, "rotation_refused", "rotation refused")
	wantError(t, "bad alg", e.as("POST", "/api/v2/keys/rotate?alg=HS256", ""), 400, "invalid_query_string", "HS256")
	wantError(t, "alg not in use", e.as("POST", "/api/v2/keys/rotate?alg=EdDSA&force=true", ""), 409, "rotation_refused", "no EdDSA signing key")
	wantError(t, "bad force", e.as("POST", "/api/v2/keys/rotate?force=yes", ""), 400, "invalid_query_string", "force")
	if after := e.must(200, "GET", "/api/v2/keys", "").arr(t); len(after) != len(before) {
		t.Errorf("refused rotations changed the keys")
	}
	rotated := e.must(200, "POST", "/api/v2/keys/rotate?alg=RS256&force=true", "").arr(t)
	if s := states(rotated); s["RS256/current"] != 1 || s["RS256/next"] != 1 || s["RS256/previous"] != 1 {
		t.Errorf("after rotation: %v", s)
	}
	// The admin token, signed by the key that is now previous, still works,
	// and a token signed by the new current key does too.
	e.sync()
	e.must(200, "GET", "/api/v2/keys", "")
	fresh := e.token(mgmt.ScopeReadSigningKeys)
	if r := e.do(req{method: "GET", path: "/api/v2/keys", token: fresh}); r.status != 200 {
		t.Errorf("a token signed by the new current key: %d %s", r.status, r.body)
	}
}

func TestBodies(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, contentType, body string
		status                  int
		code, msg               string
	}{
		{"form", "application/x-www-form-urlencoded", "name=x", 400, "invalid_body", "application/json"},
		{"no content type", "-", `{"name":"x"}`, 400, "invalid_body", "application/json"},
		{"charset is fine", "application/json; charset=utf-8", `{"name":"x"}`, 201, "", ""},
		{"not JSON", "", `{"name":`, 400, "invalid_body", "not valid JSON"},
		{"array", "", `[{"name":"x"}]`, 400, "invalid_body", "must be a JSON object"},
		{"null", "", `null`, 400, "invalid_body", "must be a JSON object"},
		{"string", "", `"x"`, 400, "invalid_body", "must be a JSON object"},
		{"two values", "", `{"name":"x"} {"name":"y"}`, 400, "invalid_body", "not valid JSON"},
		{"too large", "", `{"name":"` + strings.Repeat("x", mgmt.MaxBodyBytes) + `"}`, 413, "payload_too_large", "larger than"},
		{"two unknown fields", "", `{"name":"x","b":1,"a":2}`, 400, "invalid_body", `unknown field "a", "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := req{method: "POST", path: "/api/v2/clients", token: e.admin, body: tt.body, contentType: tt.contentType}
			if tt.contentType == "-" {
				q.contentType = ""
				q.header = http.Header{"Content-Type": {""}}
			}
			r := e.do(q)
			if tt.code == "" {
				if r.status != tt.status {
					t.Errorf("%d %s, want %d", r.status, r.body, tt.status)
				}
				return
			}
			wantError(t, tt.name, r, tt.status, tt.code, tt.msg)
		})
	}
}

func TestPaging(t *testing.T) {
	e := newEnv(t)
	for i := range 4 {
		e.must(201, "POST", "/api/v2/clients", jsonBody(map[string]string{"name": "c" + string(rune('0'+i))}))
	}
	all := e.must(200, "GET", "/api/v2/clients", "").arr(t) // 5 with the admin
	r := e.must(200, "GET", "/api/v2/clients?page=1&per_page=2&include_totals=true", "")
	var env struct {
		Total, Start, Limit int
		Clients             []map[string]any
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 || env.Total != 5 || env.Start != 2 || env.Limit != 2 || len(env.Clients) != 2 ||
		env.Clients[0]["client_id"] != all[2]["client_id"] || env.Clients[1]["client_id"] != all[3]["client_id"] {
		t.Errorf("page 1 of 2: %s (all: %d)", r.body, len(all))
	}
	if last := e.must(200, "GET", "/api/v2/clients?page=2&per_page=2", "").arr(t); len(last) != 1 || last[0]["client_id"] != all[4]["client_id"] {
		t.Errorf("last page: %v", last)
	}
	if past := e.must(200, "GET", "/api/v2/clients?page=9&per_page=2&include_totals=false", ""); string(past.body) != "[]\n" {
		t.Errorf("past the end: %q", past.body)
	}
	for _, q := range []string{"page=-1", "per_page=0", "per_page=101", "page=x", "include_totals=yes", "per_page=1&per_page=2"} {
		wantError(t, q, e.as("GET", "/api/v2/clients?"+q, ""), 400, "invalid_query_string", strings.SplitN(q, "=", 2)[0])
	}
	// Every listing pages the same way, under its own key.
	for path, key := range map[string]string{"/api/v2/resource-servers": "resource_servers", "/api/v2/client-grants": "client_grants",
		"/api/v2/keys": "keys", "/api/v2/clients/" + str(all[0], "client_id") + "/secrets": "secrets"} {
		m := e.must(200, "GET", path+"?include_totals=true&per_page=1", "").obj(t)
		if _, ok := m[key].([]any); !ok || m["limit"] != float64(1) || m["total"] == nil {
			t.Errorf("%s envelope: %v", path, m)
		}
	}
}
