package cli_test

import (
	"slices"
	"strings"
	"testing"
)

// TestUpdateCommands covers api update, client update and grant update,
// locally and through a server (--server), which must print alike.
func TestUpdateCommands(t *testing.T) {
	h := newHarness(t)
	r := startServer(t, h)
	h.object("api", "create", "--identifier", "https://orders.test", "--scope", "read", "--scope", "write")
	c := h.object("client", "create", "--name", "billing")
	id := str(c, "client_id")
	g := h.object("grant", "create", "--client", id, "--audience", "https://orders.test", "--scope", "read", "--scope", "write")
	gid := str(g, "id")

	type step struct {
		args  []string
		check func(m map[string]any) bool
	}
	steps := []step{
		{[]string{"api", "update", "https://orders.test", "--name", "Orders", "--token-lifetime", "10m", "--token-dialect", "auth0"},
			func(m map[string]any) bool {
				return str(m, "name") == "Orders" && m["token_lifetime"] != nil && str(m, "token_dialect") == "auth0" && len(m["scopes"].([]any)) == 2
			}},
		{[]string{"api", "update", "https://orders.test", "--signing-alg", "ES256"}, func(m map[string]any) bool { return str(m, "signing_alg") == "ES256" }},
		{[]string{"client", "update", id, "--description", "bills"}, func(m map[string]any) bool {
			return str(m, "name") == "billing" && str(m, "description") == "bills"
		}},
		{[]string{"grant", "update", gid, "--scope", "read"}, func(m map[string]any) bool { return slices.Equal(toStrings(m["scope"]), []string{"read"}) }},
		{[]string{"api", "update", "https://orders.test", "--scope", "read"}, func(m map[string]any) bool { return len(m["scopes"].([]any)) == 1 }},
	}
	for i, s := range steps {
		run := func() map[string]any { return h.object(s.args...) }
		var got map[string]any
		if i%2 == 0 {
			got = run()
		} else {
			h.asRemote(r, func() { got = run() })
		}
		if !s.check(got) {
			t.Errorf("gatehouse %s (remote %v) = %v", strings.Join(s.args, " "), i%2 == 1, got)
		}
	}
	bad := [][]string{
		{"api", "update", "https://orders.test"},
		{"api", "update", "https://missing.test", "--name", "x"},
		{"api", "update", "https://orders.test", "--token-lifetime", "0s"},
		{"api", "update", "https://orders.test", "--signing-alg", "HS256", "--token-lifetime", "721h"},
		{"api", "update", "https://orders.test", "--token-dialect", "jwt"},
		{"client", "update", id},
		{"client", "update", "missing", "--name", "x"},
		{"client", "update", id, "--name", " "},
		{"grant", "update", gid},
		{"grant", "update", "cgr_missing", "--scope", "read"},
		{"grant", "update", gid, "--scope", "write"},
	}
	for _, args := range bad {
		local := h.run(args...)
		var remote result
		h.asRemote(r, func() { remote = h.run(args...) })
		expect(t, oneLineError(local))
		if local != remote {
			t.Errorf("gatehouse %s:\n local  %s\n remote %s", strings.Join(args, " "), local, remote)
		}
	}
	// An update without a flag names every flag it takes (and no common one).
	h.failsWith([]string{"nothing to change: give --allow-offline-access, --client-access, --enforce-policies, --name, --pop-mechanism, " +
		"--pop-required, --pop-required-for, --scope, --signing-alg, --token-dialect, --token-lifetime, --token-reuse or --user-access"}, "api", "update", "https://orders.test", "--db", h.db)
	h.failsWith([]string{"nothing to change: give --certificate-bound-tokens, --description, --name, --require-proof-of-possession, --tls-client-auth-san or --web-origin"}, "client", "update", id)

	// Dropping a granted scope removes it from the grant, here and there
	// alike.
	for _, remote := range []bool{false, true} {
		h.ok("api", "update", "https://orders.test", "--scope", "read", "--scope", "other")
		h.object("grant", "update", gid, "--scope", "read")
		drop := func() { h.ok("api", "update", "https://orders.test", "--scope", "other") }
		if remote {
			h.asRemote(r, drop)
		} else {
			drop()
		}
		if grants := h.array("grant", "list", "--client", id); len(grants) != 1 || len(grants[0]["scope"].([]any)) != 0 {
			t.Errorf("remote %v: grants after the API dropped their scope: %v", remote, grants)
		}
	}
}
