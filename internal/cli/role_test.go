package cli_test

import (
	"strings"
	"testing"
)

// TestAccessCommands: an API's access policies, grants for people, roles,
// their permissions and users' roles and permissions on the command line;
// mistakes are one line and exit 1.
func TestAccessCommands(t *testing.T) {
	h := newHarness(t)
	const api = "https://sensors.example.com"
	created := h.object("api", "create", "--identifier", api, "--scope", "read:sensors", "--scope", "write:sensors", "--user-access", "deny_all")
	if created["user_access"] != "deny_all" || created["client_access"] != "require_client_grant" {
		t.Errorf("api create --user-access deny_all = %v", created)
	}
	updated := h.object("api", "update", api, "--user-access", "require_client_grant", "--client-access", "deny_all", "--enforce-policies", "--token-dialect", "rfc9068_authz")
	if updated["user_access"] != "require_client_grant" || updated["client_access"] != "deny_all" || updated["enforce_policies"] != true || updated["token_dialect"] != "rfc9068_authz" {
		t.Errorf("api update = %v", updated)
	}
	web := h.object("client", "create", "--name", "web", "--app-type", "regular_web", "--redirect-uri", "https://app.example.com/cb")
	g := h.object("grant", "create", "--client", str(web, "client_id"), "--audience", api, "--scope", "read:sensors", "--subject-type", "user")
	if g["subject_type"] != "user" {
		t.Errorf("grant create --subject-type user = %v", g)
	}
	if l := h.array("grant", "list", "--subject-type", "user"); len(l) != 1 || l[0]["id"] != g["id"] {
		t.Errorf("grant list --subject-type user = %v", l)
	}
	if l := h.array("grant", "list", "--subject-type", "client"); len(l) != 0 {
		t.Errorf("grant list --subject-type client = %v", l)
	}

	role := h.object("role", "create", "--name", "viewer", "--description", "reads the sensors")
	id := str(role, "id")
	if !strings.HasPrefix(id, "rol_") || role["name"] != "viewer" {
		t.Fatalf("role create = %v", role)
	}
	h.ok("role", "permission", "add", id, "--api", api, "--scope", "read:sensors")
	shown := h.object("role", "show", id)
	if perms, _ := shown["permissions"].([]any); len(perms) != 1 {
		t.Errorf("role show = %v", shown)
	}
	if l := h.array("role", "list"); len(l) != 1 || l[0]["id"] != id {
		t.Errorf("role list = %v", l)
	}
	h.runIn("correct horse battery\n", "user", "create", "--email", "alice@example.com", "--password-stdin")
	if roles := h.array("user", "role", "add", "alice@example.com", id); len(roles) != 1 || roles[0]["id"] != id {
		t.Errorf("user role add = %v", roles)
	}
	h.ok("user", "permission", "add", "alice@example.com", "--api", api, "--scope", "write:sensors", "--scope", "read:sensors")
	held := h.array("user", "permission", "list", "alice@example.com")
	if len(held) != 2 || held[0]["scope"] != "read:sensors" || strings.Join(toStrings(held[0]["sources"]), " ") != "direct "+id ||
		held[1]["scope"] != "write:sensors" || strings.Join(toStrings(held[1]["sources"]), " ") != "direct" {
		t.Errorf("user permission list = %v", held)
	}
	h.ok("user", "permission", "remove", "alice@example.com", "--api", api, "--scope", "write:sensors", "--scope", "read:sensors")
	if roles := h.array("user", "role", "remove", "alice@example.com", id); len(roles) != 0 {
		t.Errorf("user role remove = %v", roles)
	}
	if held := h.array("user", "permission", "list", "alice@example.com"); len(held) != 0 {
		t.Errorf("after removals: %v", held)
	}
	h.ok("role", "permission", "remove", id, "--api", api, "--scope", "read:sensors")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad user access", []string{"api", "update", api, "--user-access", "sometimes"}, `user access policy "sometimes" must be one of`},
		{"allow_all for clients", []string{"api", "create", "--identifier", "https://x.example.com", "--client-access", "allow_all"}, `client access policy "allow_all"`},
		{"authz dialect without RBAC", []string{"api", "create", "--identifier", "https://y.example.com", "--token-dialect", "auth0_authz"}, "needs enforce policies"},
		{"bad subject type", []string{"grant", "create", "--client", str(web, "client_id"), "--audience", api, "--subject-type", "robot"}, `subject type "robot"`},
		{"second user grant", []string{"grant", "create", "--client", str(web, "client_id"), "--audience", api, "--subject-type", "user"}, "already has a grant"},
		{"taken role name", []string{"role", "create", "--name", "viewer"}, `a role named "viewer" already exists`},
		{"unknown role", []string{"role", "show", "rol_nope"}, `role "rol_nope" not found`},
		{"scope the API lacks", []string{"role", "permission", "add", id, "--api", api, "--scope", "admin"}, `does not define scope "admin"`},
		{"no scope", []string{"role", "permission", "add", id, "--api", api}, "give at least one --scope"},
		{"unknown user", []string{"user", "role", "add", "bob@example.com", id}, `user "bob@example.com" not found`},
		{"unknown role for a user", []string{"user", "role", "add", "alice@example.com", "rol_nope"}, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.run(tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("%s: want exit 1 and one line saying %q", r, tc.want)
			}
		})
	}
	h.ok("role", "delete", id)
	if l := h.array("role", "list"); len(l) != 0 {
		t.Errorf("role list after delete = %v", l)
	}
}
