package mgmt_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
)

// TestRoles drives roles, their permissions and users' roles and
// permissions in Auth0's shapes, and the refusals of bad input.
func TestRoles(t *testing.T) {
	e := newEnv(t)
	u, err := e.svc.CreateUser(e.ctx, admin.UserInput{Email: "alice@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	role := e.must(200, "POST", "/api/v2/roles", `{"name":"viewer","description":"reads"}`).obj(t)
	id := str(role, "id")
	if id == "" || role["name"] != "viewer" || role["description"] != "reads" || len(role) != 3 {
		t.Fatalf("created role %v", role)
	}
	perm := `{"permissions":[{"resource_server_identifier":"` + demoAPI + `","permission_name":"read"}]}`
	e.must(201, "POST", "/api/v2/roles/"+id+"/permissions", perm)
	e.must(200, "POST", "/api/v2/roles/"+id+"/users", `{"users":["`+u.UserID+`"]}`)
	direct := `{"permissions":[{"resource_server_identifier":"` + demoAPI + `","permission_name":"write"},{"resource_server_identifier":"` + demoAPI + `","permission_name":"read"}]}`
	e.must(201, "POST", "/api/v2/users/"+u.UserID+"/permissions", direct)

	if got := e.must(200, "GET", "/api/v2/roles/"+id+"/permissions", "").arr(t); len(got) != 1 || got[0]["permission_name"] != "read" ||
		got[0]["resource_server_identifier"] != demoAPI || got[0]["resource_server_name"] != demoAPI {
		t.Errorf("role permissions %v", got)
	}
	if got := e.must(200, "GET", "/api/v2/roles/"+id+"/users", "").arr(t); len(got) != 1 || got[0]["user_id"] != u.UserID || got[0]["email"] != "alice@example.com" {
		t.Errorf("role users %v", got)
	}
	if got := e.must(200, "GET", "/api/v2/users/"+u.UserID+"/roles", "").arr(t); len(got) != 1 || got[0]["id"] != id {
		t.Errorf("user roles %v", got)
	}
	got := e.must(200, "GET", "/api/v2/users/alice@example.com/permissions", "").arr(t)
	if len(got) != 2 || got[0]["permission_name"] != "read" || got[1]["permission_name"] != "write" {
		t.Fatalf("user permissions %v", got)
	}
	if s := jsonBody(got[0]["sources"]); s != `[{"source_id":"","source_name":"","source_type":"DIRECT"},{"source_id":"`+id+`","source_name":"viewer","source_type":"ROLE"}]` {
		t.Errorf("sources of read: %s", s)
	}
	if totals := e.must(200, "GET", "/api/v2/roles?include_totals=true&name_filter=VIEW", "").obj(t); totals["total"] != float64(1) {
		t.Errorf("roles with totals %v", totals)
	}

	e.must(200, "PATCH", "/api/v2/roles/"+id, `{"name":"reader"}`)
	e.must(204, "DELETE", "/api/v2/users/"+u.UserID+"/roles", `{"roles":["`+id+`"]}`)
	e.must(204, "DELETE", "/api/v2/users/"+u.UserID+"/permissions", direct)
	if got := e.must(200, "GET", "/api/v2/users/"+u.UserID+"/permissions", "").arr(t); len(got) != 0 {
		t.Errorf("after removals: %v", got)
	}
	e.must(204, "POST", "/api/v2/users/"+u.UserID+"/roles", `{"roles":["`+id+`"]}`)
	e.must(204, "DELETE", "/api/v2/roles/"+id+"/permissions", perm)
	e.must(204, "DELETE", "/api/v2/roles/"+id, "")
	if got := e.must(200, "GET", "/api/v2/users/"+u.UserID+"/roles", "").arr(t); len(got) != 0 {
		t.Errorf("a deleted role is still held: %v", got)
	}

	other := e.must(200, "POST", "/api/v2/roles", `{"name":"other"}`).obj(t)
	errs := []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"no name", "POST", "/api/v2/roles", `{}`, 400, "invalid_body", `"name" is required`},
		{"long name", "POST", "/api/v2/roles", jsonBody(map[string]string{"name": string(make([]byte, 51))}), 400, "invalid_body", "longer than 50"},
		{"taken name", "POST", "/api/v2/roles", `{"name":"other"}`, 409, "role_conflict", "already exists"},
		{"unknown role", "GET", "/api/v2/roles/rol_missing", "", 404, "inexistent_role", "not found"},
		{"unknown scope", "POST", "/api/v2/roles/" + str(other, "id") + "/permissions",
			`{"permissions":[{"resource_server_identifier":"` + demoAPI + `","permission_name":"admin"}]}`, 400, "invalid_body", `does not define scope "admin"`},
		{"unknown API", "POST", "/api/v2/users/" + u.UserID + "/permissions",
			`{"permissions":[{"resource_server_identifier":"https://nope.test","permission_name":"read"}]}`, 400, "invalid_body", "does not exist"},
		{"no permissions", "POST", "/api/v2/roles/" + str(other, "id") + "/permissions", `{"permissions":[]}`, 400, "invalid_body", "at least one"},
		{"unknown user", "POST", "/api/v2/users/usr_missing/roles", `{"roles":["` + str(other, "id") + `"]}`, 404, "inexistent_user", "not found"},
		{"unknown role for a user", "POST", "/api/v2/users/" + u.UserID + "/roles", `{"roles":["rol_missing"]}`, 404, "inexistent_resource", "not found"},
		{"no users", "POST", "/api/v2/roles/" + str(other, "id") + "/users", `{"users":[]}`, 400, "invalid_body", "at least one"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.name, e.as(tt.method, tt.path, tt.body), tt.status, tt.code, tt.msg)
		})
	}
	if r := e.as("GET", "/api/v2/roles", ""); r.status != http.StatusOK || len(r.arr(t)) != 1 {
		t.Errorf("refused requests changed the roles: %s", r.body)
	}
}
