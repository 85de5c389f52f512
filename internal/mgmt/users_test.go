package mgmt_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestUsers: /api/v2/users in Auth0's shape: create, read by ID or email,
// list, update name, email_verified, blocked and password; never a
// password or hash in an answer.
func TestUsers(t *testing.T) {
	e := newEnv(t)
	r := e.must(201, "POST", "/api/v2/users", `{"email":"Alice@Example.com","password":"correct horse","name":"Alice",
		"connection":"Username-Password-Authentication"}`)
	u := r.obj(t)
	id := str(u, "user_id")
	if !strings.HasPrefix(id, "usr_") || u["email"] != "Alice@Example.com" || u["name"] != "Alice" || u["blocked"] != false || u["email_verified"] != false {
		t.Errorf("created: %s", r.body)
	}
	if strings.Contains(string(r.body), "correct horse") || strings.Contains(string(r.body), "argon2") {
		t.Errorf("the answer holds the password or its hash: %s", r.body)
	}
	for _, tc := range []struct{ name, body string }{
		{"taken email in another case", `{"email":"alice@example.COM","password":"long enough"}`},
	} {
		wantError(t, tc.name, e.as("POST", "/api/v2/users", tc.body), 409, "user_exists", "already exists")
	}
	for _, tc := range []struct{ name, body, want string }{
		{"short password", `{"email":"b@example.com","password":"short"}`, "at least 8"},
		{"no password", `{"email":"b@example.com"}`, `"password" is required`},
		{"bad email", `{"email":"bob","password":"long enough"}`, "must be an address"},
		{"other connection", `{"email":"b@example.com","password":"long enough","connection":"google-oauth2"}`, "connection must be"},
		{"blocked at birth", `{"email":"b@example.com","password":"long enough","blocked":true}`, "unblocked"},
		{"unknown field", `{"email":"b@example.com","password":"long enough","app_metadata":{}}`, `unknown field "app_metadata"`},
	} {
		wantError(t, tc.name, e.as("POST", "/api/v2/users", tc.body), 400, "invalid_body", tc.want)
	}
	for _, ref := range []string{id, url.PathEscape("alice@example.com")} {
		if g := e.must(200, "GET", "/api/v2/users/"+ref, "").obj(t); str(g, "user_id") != id {
			t.Errorf("GET /users/%s = %v", ref, g)
		}
	}
	wantError(t, "missing user", e.as("GET", "/api/v2/users/usr_missing", ""), 404, "inexistent_user", "not found")
	before, _ := e.svc.GetUser(t.Context(), id)
	upd := e.must(200, "PATCH", "/api/v2/users/"+id, `{"name":"Alice B.","email_verified":true,"blocked":true,"password":"a new passphrase"}`).obj(t)
	if upd["name"] != "Alice B." || upd["email_verified"] != true || upd["blocked"] != true {
		t.Errorf("updated: %v", upd)
	}
	u2, err := e.svc.GetUser(t.Context(), id)
	if err != nil || !u2.Disabled || u2.PasswordHash == before.PasswordHash {
		t.Fatalf("stored user %+v, %v", u2, err)
	}
	wantError(t, "email change", e.as("PATCH", "/api/v2/users/"+id, `{"email":"x@example.com"}`), 400, "invalid_body", "cannot be changed")
	wantError(t, "short new password", e.as("PATCH", "/api/v2/users/"+id, `{"password":"short"}`), 400, "invalid_body", "at least 8")
	wantError(t, "PATCH a missing user", e.as("PATCH", "/api/v2/users/usr_missing", `{"name":"x"}`), 404, "inexistent_user", "not found")
	if l := string(e.must(200, "GET", "/api/v2/users", "").body); !strings.Contains(l, id) || strings.Contains(l, "argon2") {
		t.Errorf("list: %s", l)
	}
}
