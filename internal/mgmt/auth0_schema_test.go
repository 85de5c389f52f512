package mgmt_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
)

// TestRoundTrip sends each resource back as GET answered it, through PATCH
// (the Deploy CLI's export → import): 200, and nothing changed. The times
// Auth0's objects do not have are left out unless asked for.
func TestRoundTrip(t *testing.T) {
	e := newEnv(t)
	api := e.must(201, "POST", "/api/v2/resource-servers", `{"identifier":"https://rt.test/","scopes":[{"value":"read","description":"Read"}]}`).obj(t)
	cl := e.must(201, "POST", "/api/v2/clients", `{"name":"rt"}`).obj(t)
	web := e.must(201, "POST", "/api/v2/clients", `{"name":"rt web","app_type":"spa","callbacks":["https://rt.test/cb"]}`).obj(t)
	gr := e.must(201, "POST", "/api/v2/client-grants", jsonBody(map[string]any{"client_id": cl["client_id"], "audience": "https://rt.test/", "scope": []string{"read"}})).obj(t)
	for _, path := range []string{
		"/api/v2/resource-servers/" + str(api, "id"),
		"/api/v2/resource-servers/" + url.PathEscape(mgmt.Audience(e.issuer)), // the built-in API too
		"/api/v2/clients/" + str(cl, "client_id"),
		"/api/v2/clients/" + str(web, "client_id"),
		"/api/v2/client-grants/" + str(gr, "id"),
	} {
		before := e.must(200, "GET", path, "")
		for _, k := range []string{"created_at", "updated_at"} {
			if _, ok := before.obj(t)[k]; ok {
				t.Errorf("GET %s has %s, which Auth0's object does not", path, k)
			}
		}
		patched := e.must(200, "PATCH", path, string(before.body))
		after := e.must(200, "GET", path, "")
		if string(patched.body) != string(before.body) || string(after.body) != string(before.body) {
			t.Errorf("PATCH %s with its own GET changed it:\n before %s\n patch  %s\n after  %s", path, before.body, patched.body, after.body)
		}
	}
	// The command line's switch shows the times.
	got := e.must(200, "GET", "/api/v2/clients/"+str(cl, "client_id")+"?gatehouse_times=true", "").obj(t)
	if got["created_at"] == nil || got["updated_at"] == nil {
		t.Errorf("gatehouse_times=true: %v", got)
	}
	// A write answers with them too when asked; its query cannot fail it
	// once made.
	if got := e.must(200, "PATCH", "/api/v2/clients/"+str(cl, "client_id")+"?gatehouse_times=true&unknown=1", `{}`).obj(t); got["updated_at"] == nil {
		t.Errorf("PATCH with gatehouse_times=true: %v", got)
	}
	if got := e.must(200, "GET", "/api/v2/resource-servers?gatehouse_times=true", "").arr(t); got[0]["created_at"] == nil {
		t.Errorf("listed with gatehouse_times=true: %v", got[0])
	}

	// Read-only and immutable fields: refused when changed, saying so.
	changed := []struct{ path, body, msg string }{
		{"/api/v2/resource-servers/" + str(api, "id"), `{"id":"000000000000000000000000"}`, "id is read-only"},
		{"/api/v2/resource-servers/" + str(api, "id"), `{"is_system":true}`, "is_system is read-only"},
		{"/api/v2/resource-servers/" + str(api, "id"), `{"identifier":"https://other.test/"}`, "identifier is immutable"},
		{"/api/v2/clients/" + str(cl, "client_id"), `{"client_id":"other"}`, "client_id is read-only"},
		{"/api/v2/client-grants/" + str(gr, "id"), `{"id":"cgr_other","scope":[]}`, "id is read-only"},
		{"/api/v2/client-grants/" + str(gr, "id"), `{"audience":"` + demoAPI + `","scope":[]}`, "audience is read-only"},
		{"/api/v2/resource-servers/" + url.PathEscape(mgmt.Audience(e.issuer)), `{"name":"mine"}`, "keeps its name"},
	}
	for _, c := range changed {
		wantError(t, c.body, e.as("PATCH", c.path, c.body), 400, "invalid_body", c.msg)
	}
	for _, c := range []struct{ path, body, msg string }{
		{"/api/v2/resource-servers", `{"identifier":"urn:ro","id":"x"}`, "id is assigned by the server"},
		{"/api/v2/resource-servers", `{"identifier":"urn:ro","is_system":true}`, "is_system true"},
		{"/api/v2/clients", `{"name":"ro","client_id":"mine"}`, "client_id is assigned by the server"},
	} {
		wantError(t, c.body, e.as("POST", c.path, c.body), 400, "invalid_body", c.msg)
	}
}

// TestAuth0Fields: Auth0's fields are accepted at the value gatehouse
// behaves as and echoed, and any other value is a 400 that names the
// field, the value and why; a field Auth0 does not have stays unknown.
func TestAuth0Fields(t *testing.T) {
	e := newEnv(t)
	rs := e.must(201, "POST", "/api/v2/resource-servers", `{"identifier":"https://f.test/","token_lifetime":600,"token_lifetime_for_web":600,
		"skip_consent_for_verifiable_first_party_clients":true,"enforce_policies":false,"signing_secret":null,"options":{},"authorization_details":[],
		"subject_type_authorization":{"user":{"policy":"allow_all"},"client":{"policy":"require_client_grant"}},"consent_policy":null}`).obj(t)
	if rs["token_lifetime_for_web"] != float64(600) || rs["skip_consent_for_verifiable_first_party_clients"] != true || rs["enforce_policies"] != false {
		t.Errorf("resource server echo: %v", rs)
	}
	cl := e.must(201, "POST", "/api/v2/clients", `{"name":"f","oidc_conformant":true,"jwt_configuration":{"alg":"RS256"},"cross_origin_authentication":false,
		"sso_disabled":false,"sso":false,"custom_login_page_on":true,"refresh_token":{"rotation_type":"rotating","expiration_type":"expiring"},
		"is_token_endpoint_ip_header_trusted":false,"organization_usage":"deny","organization_require_behavior":"no_prompt","allowed_origins":[],"web_origins":[],"addons":{},"native_social_login":{"apple":{"enabled":false}},
		"client_authentication_methods":null,"is_first_party":true}`).obj(t)
	want := map[string]string{"oidc_conformant": "true", "cross_origin_authentication": "false", "sso_disabled": "false", "custom_login_page_on": "true",
		"is_token_endpoint_ip_header_trusted": "false", "organization_usage": `"deny"`, "is_first_party": "true",
		"jwt_configuration": `{"alg":"RS256","lifetime_in_seconds":3600,"secret_encoded":false}`}
	for k, v := range want {
		if jsonBody(cl[k]) != v {
			t.Errorf("client %s = %s, want %s", k, jsonBody(cl[k]), v)
		}
	}
	if v, ok := cl["client_authentication_methods"]; !ok || v != nil {
		t.Errorf("client_authentication_methods = %v (present %v), want null", v, ok)
	}
	if rt, _ := cl["refresh_token"].(map[string]any); rt["rotation_type"] != "rotating" || rt["token_lifetime"] != float64(config.Default().RefreshTokenLifetime/time.Second) {
		t.Errorf("client refresh_token = %v", cl["refresh_token"])
	}
	gr := e.must(201, "POST", "/api/v2/client-grants", jsonBody(map[string]any{"client_id": cl["client_id"], "audience": "https://f.test/", "scope": []string{},
		"allow_any_organization": false, "organization_usage": "deny", "subject_type": "client"})).obj(t)
	if gr["allow_any_organization"] != false || gr["organization_usage"] != "deny" {
		t.Errorf("grant echo: %v", gr)
	}

	rsPath, clPath, grPath := "/api/v2/resource-servers/"+str(rs, "id"), "/api/v2/clients/"+str(cl, "client_id"), "/api/v2/client-grants/"+str(gr, "id")
	refused := []struct{ name, method, path, body, msg string }{
		{"HS256 secret", "PATCH", rsPath, `{"signing_secret":"s3cr3t-s3cr3t-s3cr3t"}`, `signing_secret "s3cr3t-s3cr3t-s3cr3t" is not supported: HS256`},
		{"consent for first party", "PATCH", rsPath, `{"skip_consent_for_verifiable_first_party_clients":false}`, "skip_consent_for_verifiable_first_party_clients false"},
		{"web lifetime above the lifetime", "PATCH", rsPath, `{"token_lifetime_for_web":7200}`, "not longer than the token lifetime 10m0s"},
		{"bad logo", "PATCH", clPath, `{"logo_uri":"javascript:alert(1)"}`, `logo URI "javascript:alert(1)"`},
		{"unknown binding", "POST", "/api/v2/resource-servers", `{"identifier":"urn:pop","proof_of_possession":{"mechanism":"tls","required":true}}`, `mechanism "tls" must be dpop or mtls`},
		{"not conformant", "PATCH", clPath, `{"oidc_conformant":false}`, "oidc_conformant false is not supported"},
		{"HS256 id tokens", "PATCH", clPath, `{"jwt_configuration":{"alg":"HS256"}}`, `jwt_configuration {"alg":"HS256"}`},
		{"organizations", "POST", "/api/v2/clients", `{"name":"o","organization_usage":"require"}`, `organization_usage "require" is not supported: organizations`},
		{"key credentials", "PATCH", clPath, `{"client_authentication_methods":{"private_key_jwt":{"credentials":[{"id":"cred_1"}]}}}`, "private_key_jwt"},
		{"non-rotating", "PATCH", clPath, `{"refresh_token":{"rotation_type":"non-rotating"}}`, "refresh_token"},
		{"any organization", "PATCH", grPath, `{"scope":[],"allow_any_organization":true}`, "allow_any_organization true"},
		{"every problem at once", "PATCH", clPath, `{"oidc_conformant":false,"sso_disabled":true}`, "sso_disabled true"},
		{"not Auth0's either", "PATCH", clPath, `{"oidc_conformance":true}`, `unknown field "oidc_conformance"`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.name, e.as(tt.method, tt.path, tt.body), 400, "invalid_body", tt.msg)
		})
	}
}

// TestListQueries: filters and field selection work, and a parameter a
// list does not take is a 400 that names it, never ignored.
func TestListQueries(t *testing.T) {
	e := newEnv(t)
	e.must(201, "POST", "/api/v2/clients", `{"name":"spa","app_type":"spa","callbacks":["https://q.test/cb"]}`)
	e.must(201, "POST", "/api/v2/clients", `{"name":"web","app_type":"regular_web","callbacks":["https://q.test/cb"]}`)
	names := func(path string) []string {
		var out []string
		for _, c := range e.must(200, "GET", path, "").arr(t) {
			out = append(out, str(c, "name"))
		}
		slices.Sort(out)
		return out
	}
	for path, want := range map[string][]string{
		"/api/v2/clients?app_type=spa":                 {"spa"},
		"/api/v2/clients?app_type=spa,regular_web":     {"spa", "web"},
		"/api/v2/clients?app_type=non_interactive":     {"admin"},
		"/api/v2/clients?is_global=true":               nil,
		"/api/v2/clients?is_global=false&app_type=spa": {"spa"},
		"/api/v2/clients?is_first_party=false":         {"spa", "web"},
	} {
		if got := names(path); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
	apis := e.must(200, "GET", "/api/v2/resource-servers?identifiers="+url.QueryEscape(demoAPI)+"&identifiers=urn:none", "").arr(t)
	if len(apis) != 1 || apis[0]["identifier"] != demoAPI {
		t.Errorf("identifiers filter: %v", apis)
	}
	kept := e.must(200, "GET", "/api/v2/clients?fields=client_id,name&include_fields=true", "").arr(t)
	if len(kept) != 3 || len(kept[0]) != 2 || kept[0]["name"] == nil {
		t.Errorf("fields kept: %v", kept)
	}
	dropped := e.must(200, "GET", "/api/v2/clients/"+str(kept[0], "client_id")+"?fields=client_metadata,refresh_token&include_fields=false", "").obj(t)
	if _, ok := dropped["refresh_token"]; ok || dropped["name"] == nil {
		t.Errorf("fields dropped: %v", dropped)
	}
	grants := e.must(200, "GET", "/api/v2/client-grants?allow_any_organization=true", "").arr(t)
	if len(grants) != 0 || len(e.must(200, "GET", "/api/v2/client-grants?subject_type=client", "").arr(t)) != 1 {
		t.Errorf("grant filters")
	}
	for _, q := range []struct{ path, msg string }{
		{"/api/v2/clients?q=name:x", `unsupported query parameter "q"`},
		{"/api/v2/clients?search_engine=v3&sort=name:1", `"search_engine", "sort"`},
		{"/api/v2/users?connection=x", `"connection"`},
		{"/api/v2/clients/" + str(kept[0], "client_id") + "?page=1", `unsupported query parameter "page"`},
		{"/api/v2/clients?is_global=maybe", "is_global must be true or false"},
		{"/api/v2/clients?include_fields=maybe", "include_fields must be true or false"},
		{"/api/v2/client-grants?from=x&page=1", "page cannot be combined with from/take"},
		{"/api/v2/client-grants?take=101", "take must be one integer from 1 to 100"},
		{"/api/v2/client-grants?from=%25%25", "is not a checkpoint"},
	} {
		wantError(t, q.path, e.as("GET", q.path, ""), 400, "invalid_query_string", q.msg)
	}
}

// TestCheckpointPaging walks every list that has from/take with a page
// smaller than the list: each item comes exactly once, in the list's order,
// and the last page has no next. A deleted checkpoint item does not lose
// the rest.
func TestCheckpointPaging(t *testing.T) {
	e := newEnv(t)
	for i := range 6 {
		c, _, err := e.svc.CreateClient(e.ctx, admin.ClientInput{Name: fmt.Sprintf("p%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateGrant(e.ctx, c.ClientID, demoAPI, []string{}); err != nil {
			t.Fatal(err)
		}
	}
	for path, key := range map[string]string{"/api/v2/client-grants": "client_grants", "/api/v2/clients": "clients",
		"/api/v2/resource-servers": "resource_servers", "/api/v2/keys": "keys", "/api/v2/users": "users"} {
		whole := e.must(200, "GET", path+"?per_page=100", "").arr(t)
		var walked []string
		id := func(m map[string]any) string { return jsonBody(m) }
		next, pages := "", 0
		for ; pages < 50; pages++ {
			// Auth0's SDKs send per_page and include_totals with every list.
			q := "?take=4&per_page=50&include_totals=true"
			if next != "" {
				q += "&from=" + url.QueryEscape(next)
			}
			var page map[string]json.RawMessage
			if err := json.Unmarshal(e.must(200, "GET", path+q, "").body, &page); err != nil {
				t.Fatal(err)
			}
			var items []map[string]any
			_ = json.Unmarshal(page[key], &items)
			for _, it := range items {
				walked = append(walked, id(it))
			}
			if _, ok := page["total"]; ok {
				t.Errorf("%s: a checkpoint page with a total, which makes Auth0's SDKs page forever", path)
			}
			raw, ok := page["next"]
			if !ok {
				break
			}
			_ = json.Unmarshal(raw, &next)
		}
		var want []string
		for _, it := range whole {
			want = append(want, id(it))
		}
		if !slices.Equal(walked, want) {
			t.Errorf("%s: walked %d items in %d pages, the list has %d", path, len(walked), pages+1, len(want))
		}
	}
	// The item a checkpoint names is deleted before the next page.
	var page struct {
		Grants []map[string]any `json:"client_grants"`
		Next   string
	}
	_ = json.Unmarshal(e.must(200, "GET", "/api/v2/client-grants?take=3", "").body, &page)
	e.must(204, "DELETE", "/api/v2/client-grants/"+str(page.Grants[2], "id"), "")
	rest := e.must(200, "GET", "/api/v2/client-grants?take=100&from="+url.QueryEscape(page.Next), "").obj(t)
	if got, _ := rest["client_grants"].([]any); len(got) != 4 { // 7 grants, 3 read, 1 deleted
		t.Errorf("after a deleted checkpoint: %d grants, want 4", len(got))
	}
}

// TestIdentifierEscapes finds an API by its identifier escaped once, as
// Auth0's SDKs send it, or twice, as Auth0's Terraform provider does.
func TestIdentifierEscapes(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{url.PathEscape(demoAPI), "https:%252F%252Fapi.test", url.PathEscape(url.PathEscape(demoAPI))} {
		if r := e.must(200, "GET", "/api/v2/resource-servers/"+path, ""); r.obj(t)["identifier"] != demoAPI {
			t.Errorf("GET %s: %s", path, r.body)
		}
	}
	e.must(404, "GET", "/api/v2/resource-servers/https:%252F%252Fnone.test", "")
}

// TestClientCredentials: Auth0's credential routes over HTTP, for the
// three credential types: create, list, get, patch; a credential
// authenticates once client_authentication_methods names it (the client
// then shows token_endpoint_auth_method null, as Auth0's); one in use is
// not deleted (409 in Auth0's words, which Terraform matches); detached,
// it is. Bad keys and mismatched types are 400 with the reason.
func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	id, _ := e.client(demoAPI)
	base := "/api/v2/clients/" + id + "/credentials"
	if r := e.must(200, "GET", base+"?per_page=50&include_totals=true", ""); string(r.body) != "[]\n" {
		t.Errorf("list: %q", r.body)
	}
	pub := testPublicKeyPEM(t)
	pk := e.must(201, "POST", base, jsonBody(map[string]any{"credential_type": "public_key", "name": "laptop", "pem": pub, "alg": "ES256",
		"expires_at": "2099-01-01T00:00:00Z"})).obj(t)
	if !strings.HasPrefix(str(pk, "id"), "cred_") || str(pk, "kid") == "" || str(pk, "alg") != "ES256" || str(pk, "expires_at") != "2099-01-01T00:00:00Z" || pk["pem"] != nil {
		t.Errorf("created: %v", pk)
	}
	dn := e.must(201, "POST", base, `{"credential_type":"cert_subject_dn","name":"ca issued","subject_dn":"CN=svc,O=Example"}`).obj(t)
	x5 := e.must(201, "POST", base, jsonBody(map[string]any{"credential_type": "x509_cert", "pem": testCertPEM(t), "parse_expiry_from_cert": true})).obj(t)
	if str(x5, "thumbprint_sha256") == "" || str(x5, "expires_at") == "" || str(dn, "subject_dn") != "CN=svc,O=Example" {
		t.Errorf("created: %v %v", dn, x5)
	}
	var list []map[string]any
	if err := json.Unmarshal(e.must(200, "GET", base, "").body, &list); err != nil || len(list) != 3 || list[0]["id"] != pk["id"] {
		t.Errorf("list: %v %v", list, err)
	}
	if got := e.must(200, "GET", base+"/"+str(pk, "id"), "").obj(t); got["kid"] != pk["kid"] {
		t.Errorf("get: %v", got)
	}
	if got := e.must(200, "PATCH", base+"/"+str(pk, "id"), `{"expires_at":null}`).obj(t); got["expires_at"] != nil {
		t.Errorf("patch expires_at null: %v", got)
	}

	clPath := "/api/v2/clients/" + id
	cl := e.must(200, "PATCH", clPath, `{"client_authentication_methods":{"private_key_jwt":{"credentials":[{"id":"`+str(pk, "id")+`"}]}},"token_endpoint_auth_method":null}`).obj(t)
	if jsonBody(cl["client_authentication_methods"]) != `{"private_key_jwt":{"credentials":[{"id":"`+str(pk, "id")+`"}]}}` || cl["token_endpoint_auth_method"] != nil {
		t.Errorf("attached: methods %s, token_endpoint_auth_method %v", jsonBody(cl["client_authentication_methods"]), cl["token_endpoint_auth_method"])
	}
	wantError(t, "delete in use", e.as("DELETE", base+"/"+str(pk, "id"), ""), 409, "client_conflict", "still associated with a client")
	for _, tc := range []struct{ name, body, msg string }{
		{"another type's credential", `{"client_authentication_methods":{"private_key_jwt":{"credentials":[{"id":"` + str(dn, "id") + `"}]}}}`, "not a public_key credential"},
		{"a missing credential", `{"client_authentication_methods":{"tls_client_auth":{"credentials":[{"id":"cred_nope"}]}}}`, "cred_nope"},
		{"no credentials", `{"client_authentication_methods":{"private_key_jwt":{"credentials":[]}}}`, "at least one"},
		{"both methods", `{"client_authentication_methods":{"private_key_jwt":{"credentials":[{"id":"` + str(pk, "id") + `"}]}},"token_endpoint_auth_method":"client_secret_post"}`, "exclude each other"},
		{"unknown method", `{"client_authentication_methods":{"client_secret_jwt":{}}}`, "client_secret_jwt"},
	} {
		wantError(t, tc.name, e.as("PATCH", clPath, tc.body), 400, "invalid_body", tc.msg)
	}
	cl = e.must(200, "PATCH", clPath, `{"client_authentication_methods":null,"token_endpoint_auth_method":"client_secret_post"}`).obj(t)
	if cl["client_authentication_methods"] != nil || cl["token_endpoint_auth_method"] != "client_secret_post" {
		t.Errorf("detached: %v", cl)
	}
	e.must(204, "DELETE", base+"/"+str(pk, "id"), "")
	wantError(t, "get deleted", e.as("GET", base+"/"+str(pk, "id"), ""), 404, "inexistent_credential", "not found")
	e.must(204, "DELETE", base+"/cred_1", "")

	for _, tc := range []struct{ name, body, msg string }{
		{"private key", `{"credential_type":"public_key","pem":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`, "private key"},
		{"not PEM", `{"credential_type":"public_key","pem":"x"}`, "no PEM block"},
		{"alg for another key", jsonBody(map[string]any{"credential_type": "public_key", "pem": pub, "alg": "RS256"}), "does not sign"},
		{"HMAC", jsonBody(map[string]any{"credential_type": "public_key", "pem": pub, "alg": "HS256"}), "not one of"},
		{"unknown type", `{"credential_type":"password"}`, "not one of"},
		{"id", `{"id":"cred_mine","credential_type":"cert_subject_dn","subject_dn":"CN=a"}`, "set by the server"},
		{"unknown field", `{"credential_type":"cert_subject_dn","subject_dn":"CN=a","usage":"sig"}`, "unknown field"},
	} {
		wantError(t, tc.name, e.as("POST", base, tc.body), 400, "invalid_body", tc.msg)
	}
	wantError(t, "missing client", e.as("GET", "/api/v2/clients/missing/credentials", ""), 404, "inexistent_client", "not found")
	wantError(t, "create for a missing client", e.as("POST", "/api/v2/clients/missing/credentials", `{}`), 404, "inexistent_client", "not found")

	// Created with the client, fully defined, as Auth0 takes them: the client has no secret.
	created := e.must(201, "POST", "/api/v2/clients", jsonBody(map[string]any{"name": "keyed", "client_authentication_methods": map[string]any{
		"private_key_jwt": map[string]any{"credentials": []map[string]any{{"credential_type": "public_key", "name": "k", "pem": pub}}}}})).obj(t)
	if created["client_secret"] != nil || created["token_endpoint_auth_method"] != nil || created["client_authentication_methods"] == nil {
		t.Errorf("created with credentials: %v", created)
	}
	wantError(t, "created with a bad key", e.as("POST", "/api/v2/clients", jsonBody(map[string]any{"name": "bad", "client_authentication_methods": map[string]any{
		"private_key_jwt": map[string]any{"credentials": []map[string]any{{"pem": "x"}}}}})), 400, "invalid_body", "no PEM block")
}

func testPublicKeyPEM(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func testCertPEM(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "svc"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestReadYourWrites: on a server whose catalog would follow the store only
// once an hour, a client created with a grant, and a secret rotated without
// grace, are in force for the very next request, and the old secret is
// refused in it.
func TestReadYourWrites(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.SyncInterval = time.Hour })
	c := e.must(201, "POST", "/api/v2/clients", `{"name":"fresh"}`).obj(t)
	id, old := str(c, "client_id"), str(c, "client_secret")
	e.must(201, "POST", "/api/v2/client-grants", jsonBody(map[string]any{"client_id": id, "audience": demoAPI, "scope": []string{}}))
	if status, _ := e.tokenResult(id, old, demoAPI); status != http.StatusOK {
		t.Fatalf("the new client's first token: %d", status)
	}
	rotated := e.must(200, "POST", "/api/v2/clients/"+id+"/rotate-secret", "").obj(t)
	if status, _ := e.tokenResult(id, str(rotated, "client_secret"), demoAPI); status != http.StatusOK {
		t.Errorf("the new secret, next request: %d", status)
	}
	if status, _ := e.tokenResult(id, old, demoAPI); status != http.StatusUnauthorized {
		t.Errorf("the rotated-out secret, next request: %d, want 401", status)
	}
	e.must(204, "DELETE", "/api/v2/clients/"+id, "")
	if status, _ := e.tokenResult(id, str(rotated, "client_secret"), demoAPI); status != http.StatusUnauthorized {
		t.Errorf("the deleted client, next request: %d, want 401", status)
	}
}

// TestBuiltInAPIName: the management API is named as Auth0's, and one
// created by an older version under gatehouse's old name is renamed.
func TestBuiltInAPIName(t *testing.T) {
	e := newEnv(t)
	aud := mgmt.Audience(e.issuer)
	if got := e.must(200, "GET", "/api/v2/resource-servers/"+url.PathEscape(aud), "").obj(t)["name"]; got != "Auth0 Management API" {
		t.Errorf("name %v", got)
	}
	old := "gatehouse Management API"
	if _, err := e.svc.UpdateAPI(e.ctx, aud, admin.APIPatch{Name: &old}); err != nil {
		t.Fatal(err)
	}
	if _, err := mgmt.EnsureAPI(e.ctx, e.svc, e.issuer); err != nil {
		t.Fatal(err)
	}
	if api, err := e.store.GetAPI(e.ctx, aud); err != nil || api.Name != mgmt.APIName {
		t.Errorf("after EnsureAPI: %q %v", api.Name, err)
	}
	// A name the operator chose is theirs.
	mine := "Our admin API"
	_, _ = e.svc.UpdateAPI(e.ctx, aud, admin.APIPatch{Name: &mine})
	_, _ = mgmt.EnsureAPI(e.ctx, e.svc, e.issuer)
	if api, _ := e.store.GetAPI(e.ctx, aud); api.Name != mine {
		t.Errorf("EnsureAPI renamed %q to %q", mine, api.Name)
	}
}

// TestNonURIIdentifier: as in Auth0, an API's identifier may be any string
// (orders-api); tokens for it are asked for with audience, and a resource
// indicator naming it is refused, since RFC 8707 §2 requires an absolute
// URI there.
func TestNonURIIdentifier(t *testing.T) {
	e := newEnv(t)
	api := e.must(201, "POST", "/api/v2/resource-servers", `{"identifier":"orders-api","scopes":[{"value":"read"}]}`).obj(t)
	if e.must(200, "GET", "/api/v2/resource-servers/orders-api", "").obj(t)["id"] != api["id"] {
		t.Error("GET by the identifier")
	}
	id, secret := e.client("orders-api", "read")
	if status, tok := e.tokenResult(id, secret, "orders-api"); status != http.StatusOK || tok == "" {
		t.Errorf("token with audience=orders-api: %d", status)
	}
	resp, err := e.http.Client().PostForm(e.http.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {id}, "client_secret": {secret}, "resource": {"orders-api"}})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || body.Error != "invalid_target" || !strings.Contains(body.ErrorDescription, "absolute URI") {
		t.Errorf("resource=orders-api: %d %+v", resp.StatusCode, body)
	}
	for _, bad := range []string{`"orders api"`, `"orders#api"`, `""`} {
		wantError(t, bad, e.as("POST", "/api/v2/resource-servers", `{"identifier":`+bad+`}`), 400, "invalid_body", "identifier")
	}
}

// TestKeptAuth0Fields: the Auth0 settings gatehouse keeps without acting
// on them come back as they were sent, through create and PATCH:
// token_lifetime_for_web, and a client's logo_uri, client_aliases,
// allowed_clients and, on a machine client, is_first_party false.
func TestKeptAuth0Fields(t *testing.T) {
	e := newEnv(t)
	rs := e.must(201, "POST", "/api/v2/resource-servers", `{"identifier":"https://kept.test/","token_lifetime":7200,"token_lifetime_for_web":3600}`).obj(t)
	if rs["token_lifetime_for_web"] != float64(3600) {
		t.Errorf("token_lifetime_for_web = %v", rs["token_lifetime_for_web"])
	}
	rsPath := "/api/v2/resource-servers/" + str(rs, "id")
	if got := e.must(200, "PATCH", rsPath, `{"token_lifetime_for_web":60}`).obj(t); got["token_lifetime_for_web"] != float64(60) || got["token_lifetime"] != float64(7200) {
		t.Errorf("after PATCH: %v", got)
	}
	cl := e.must(201, "POST", "/api/v2/clients", `{"name":"kept","is_first_party":false,"logo_uri":"https://kept.test/logo.png",
		"client_aliases":["urn:kept"],"allowed_clients":["other"]}`).obj(t)
	want := map[string]string{"is_first_party": "false", "logo_uri": `"https://kept.test/logo.png"`, "client_aliases": `["urn:kept"]`, "allowed_clients": `["other"]`}
	clPath := "/api/v2/clients/" + str(cl, "client_id")
	for _, got := range []map[string]any{cl, e.must(200, "GET", clPath, "").obj(t)} {
		for k, v := range want {
			if jsonBody(got[k]) != v {
				t.Errorf("%s = %s, want %s", k, jsonBody(got[k]), v)
			}
		}
	}
	got := e.must(200, "PATCH", clPath, `{"is_first_party":true,"client_aliases":[],"logo_uri":""}`).obj(t)
	if got["is_first_party"] != true || jsonBody(got["client_aliases"]) != "[]" || got["logo_uri"] != nil || jsonBody(got["allowed_clients"]) != `["other"]` {
		t.Errorf("after PATCH: %v", got)
	}
	if list := e.must(200, "GET", "/api/v2/clients?is_first_party=false", "").arr(t); len(list) != 0 {
		t.Errorf("third-party machine clients after PATCH: %d", len(list))
	}
}

// TestScopeRemovalCascades: Terraform changes an API's scopes before the
// grant that holds the removed one; the grant loses it in the same write
// and the client's next token no longer carries it.
func TestScopeRemovalCascades(t *testing.T) {
	e := newEnv(t)
	e.must(201, "POST", "/api/v2/resource-servers", `{"identifier":"https://cascade.test/","scopes":[{"value":"read"},{"value":"write"}]}`)
	id, secret := e.client("https://cascade.test/", "read", "write")
	gid := str(e.must(200, "GET", "/api/v2/client-grants?client_id="+id, "").arr(t)[0], "id")
	e.must(200, "PATCH", "/api/v2/resource-servers/"+url.PathEscape("https://cascade.test/"), `{"scopes":[{"value":"read"}]}`)
	if g := e.must(200, "GET", "/api/v2/client-grants/"+gid, "").obj(t); jsonBody(g["scope"]) != `["read"]` {
		t.Errorf("grant after the API dropped write: %v", g["scope"])
	}
	e.tokenFor(id, secret, "https://cascade.test/") // read still
	resp, err := e.http.Client().PostForm(e.http.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {id}, "client_secret": {secret}, "audience": {"https://cascade.test/"}, "scope": {"write"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("token for the removed scope: %d, want 400 invalid_scope", resp.StatusCode)
	}
}

// TestLoginClientCreatedWithCredentials: a login client created with
// client_authentication_methods or a jwks_uri gets them, as a machine
// client does, instead of having them dropped without a word (its
// secret is then refused at the token endpoint); a public one is refused
// and nothing is left behind.
func TestLoginClientCreatedWithCredentials(t *testing.T) {
	e := newEnv(t)
	methods := map[string]any{"private_key_jwt": map[string]any{"credentials": []map[string]any{{"credential_type": "public_key", "pem": testPublicKeyPEM(t)}}}}
	web := e.must(201, "POST", "/api/v2/clients", jsonBody(map[string]any{"name": "web", "app_type": "regular_web",
		"callbacks": []string{"https://web.example/cb"}, "client_authentication_methods": methods})).obj(t)
	if web["client_authentication_methods"] == nil || web["token_endpoint_auth_method"] != nil {
		t.Errorf("regular_web created with credentials: methods %v, token_endpoint_auth_method %v", web["client_authentication_methods"], web["token_endpoint_auth_method"])
	}
	if got := e.must(200, "GET", "/api/v2/clients/"+str(web, "client_id"), "").obj(t); got["client_authentication_methods"] == nil {
		t.Errorf("read back: %v", got["client_authentication_methods"])
	}
	keyed := e.must(201, "POST", "/api/v2/clients", `{"name":"web2","app_type":"regular_web","callbacks":["https://web.example/cb"],"jwks_uri":"https://web.example/jwks.json"}`).obj(t)
	if keyed["jwks_uri"] != "https://web.example/jwks.json" {
		t.Errorf("regular_web created with a jwks_uri: %v", keyed["jwks_uri"])
	}
	before := len(e.must(200, "GET", "/api/v2/clients", "").arr(t))
	wantError(t, "spa with credentials", e.as("POST", "/api/v2/clients", jsonBody(map[string]any{"name": "spa", "app_type": "spa",
		"callbacks": []string{"https://spa.example/cb"}, "client_authentication_methods": methods})), 400, "invalid_body", "public")
	if after := len(e.must(200, "GET", "/api/v2/clients", "").arr(t)); after != before {
		t.Errorf("a refused create left a client: %d clients, had %d", after, before)
	}
}

// TestRefusedAuthMethodsLeaveNoCredential: a PATCH whose
// client_authentication_methods defines a good key for one method and
// breaks a rule in another is refused whole, without creating the good
// key: an orphan would count toward the client's limit and make a
// corrected retry fail with "already has this public key".
func TestRefusedAuthMethodsLeaveNoCredential(t *testing.T) {
	e := newEnv(t)
	id, _ := e.client(demoAPI)
	pub := testPublicKeyPEM(t)
	good := map[string]any{"credentials": []map[string]any{{"credential_type": "public_key", "pem": pub}}}
	for _, tc := range []struct {
		name string
		bad  map[string]any
		msg  string
	}{
		{"an empty method", map[string]any{"credentials": []any{}}, "at least one"},
		{"a bad certificate", map[string]any{"credentials": []map[string]any{{"pem": "x"}}}, "no PEM block"},
	} {
		body := jsonBody(map[string]any{"client_authentication_methods": map[string]any{"private_key_jwt": good, "self_signed_tls_client_auth": tc.bad}})
		wantError(t, tc.name, e.as("PATCH", "/api/v2/clients/"+id, body), 400, "invalid_body", tc.msg)
		if list := e.must(200, "GET", "/api/v2/clients/"+id+"/credentials", "").arr(t); len(list) != 0 {
			t.Errorf("%s: the refused PATCH left %d credentials", tc.name, len(list))
		}
	}
	e.must(200, "PATCH", "/api/v2/clients/"+id, jsonBody(map[string]any{"client_authentication_methods": map[string]any{"private_key_jwt": good}}))
}
