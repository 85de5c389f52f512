package cli_test

import (
	"strings"
	"testing"
)

// TestRevocationCommands: api introspector add, list and remove, and
// client revoke-tokens, give the same answers on the database and through
// --server; user revoke-tokens works on the database; unknown names fail
// with one line.
func TestRevocationCommands(t *testing.T) {
	h := newHarness(t)
	r := startServer(t, h)
	h.ok("api", "create", "--identifier", "https://orders.test", "--scope", "read")
	rs := str(h.object("client", "create", "--name", "orders-api"), "client_id")
	owner := str(h.object("client", "create", "--name", "billing"), "client_id")
	for _, mode := range []string{"local", "remote"} {
		t.Run(mode, func(t *testing.T) {
			defer h.use(t)()
			run := func() {
				h.ok("api", "introspector", "add", "https://orders.test", rs)
				list, _ := h.json("api", "introspector", "list", "https://orders.test").([]any)
				if len(list) != 1 || str(list[0].(map[string]any), "client_id") != rs {
					t.Errorf("introspector list = %v", list)
				}
				if res := h.run("api", "introspector", "add", "https://orders.test", rs); res.code == 0 || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 {
					t.Errorf("adding again: %s", res)
				}
				h.ok("api", "introspector", "remove", "https://orders.test", rs)
				if list, _ := h.json("api", "introspector", "list", "https://orders.test").([]any); len(list) != 0 {
					t.Errorf("introspector list after remove = %v", list)
				}
				v := h.object("client", "revoke-tokens", owner)
				if str(v, "client_id") != owner || str(v, "revoked_before") == "" || str(v, "expires_at") == "" {
					t.Errorf("client revoke-tokens = %v", v)
				}
				if res := h.run("client", "revoke-tokens", "nobody"); res.code == 0 || !strings.Contains(res.stderr, "not found") {
					t.Errorf("revoke-tokens of an unknown client: %s", res)
				}
			}
			if mode == "remote" {
				h.asRemote(r, run)
			} else {
				run()
			}
		})
	}
	h.runIn("correct horse battery\n", "user", "create", "--email", "alice@example.com", "--password-stdin")
	if v := h.object("user", "revoke-tokens", "alice@example.com"); str(v, "user_id") == "" || str(v, "revoked_before") == "" {
		t.Errorf("user revoke-tokens = %v", v)
	}
}
