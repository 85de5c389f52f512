package cli_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
)

// TestInitAdminEmail: init --admin-email creates the console's login client
// (first-party, the console's redirect URI, a user grant for every
// management scope, the management API open to it) and the first
// administrator, who holds every management permission through the role
// Administrator; a bad email changes nothing; console admin adds another
// administrator to the same role.
func TestInitAdminEmail(t *testing.T) {
	h := newHarness(t)
	const issuer = "https://auth.example.com"
	r := h.runIn("short\n", "init", "--issuer", issuer, "--admin-email", "admin@example.com", "--password-stdin", "--json")
	if r.code == 0 || !strings.Contains(r.stderr, "password") {
		t.Fatalf("init with a short password: %s", r)
	}
	if c := h.array("client", "list"); len(c) != 0 {
		t.Fatalf("a refused init created clients: %v", c)
	}
	r = h.runIn("correct horse battery staple\n", "init", "--issuer", issuer, "--admin-email", "admin@example.com", "--password-stdin", "--json")
	if r.code != 0 {
		t.Fatalf("init --admin-email: %s", r)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if str(out, "admin_user_id") == "" || str(out, "console") != issuer+"/console" || str(out, "client_secret") == "" {
		t.Fatalf("init --admin-email printed %v", out)
	}
	var consoleID string
	for _, c := range h.array("client", "list") {
		if str(c, "name") == console.ClientName {
			consoleID = str(c, "client_id")
		}
	}
	if consoleID == "" {
		t.Fatal("no console client")
	}
	c := h.object("client", "show", consoleID)
	if !slices.Equal(toStrings(c["redirect_uris"]), []string{issuer + "/console/callback"}) || c["first_party"] != true {
		t.Errorf("console client = %v", c)
	}
	grants := h.array("grant", "list", "--client", consoleID)
	if len(grants) != 1 || str(grants[0], "subject_type") != "user" || !slices.Equal(toStrings(grants[0]["scope"]), mgmt.ScopeValues()) {
		t.Errorf("console grants = %v", grants)
	}
	if api := h.object("api", "show", mgmt.Audience(issuer)); str(api, "user_access") != "require_client_grant" {
		t.Errorf("management API user access = %v", api["user_access"])
	}
	perms := h.array("user", "permission", "list", "admin@example.com")
	if len(perms) != len(mgmt.Scopes) {
		t.Errorf("the administrator holds %d permissions, want %d: %v", len(perms), len(mgmt.Scopes), perms)
	}

	r = h.runIn("another long password\n", "console", "admin", "--issuer", issuer, "--email", "ops@example.com", "--password-stdin", "--json")
	if r.code != 0 {
		t.Fatalf("console admin: %s", r)
	}
	if perms := h.array("user", "permission", "list", "ops@example.com"); len(perms) != len(mgmt.Scopes) {
		t.Errorf("the second administrator holds %d permissions", len(perms))
	}
	if n := len(h.array("role", "list")); n != 1 {
		t.Errorf("%d roles, want the one Administrator role", n)
	}
	if n := len(h.array("client", "list")); n != 2 {
		t.Errorf("%d clients, want the admin client and one console client", n)
	}
}
