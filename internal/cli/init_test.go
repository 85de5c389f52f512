package cli_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
)

// TestInit checks that init creates the management API and one admin client
// granted every management scope, prints its secret once (table and
// --json), and refuses a second run with one line.
func TestInit(t *testing.T) {
	h := newHarness(t)
	const issuer = "https://auth.example.com/"
	out := h.object("init", "--issuer", issuer)
	aud := "https://auth.example.com/api/v2/"
	id, secret := str(out, "client_id"), str(out, "client_secret")
	if id == "" || !strings.HasPrefix(secret, "gths_") || str(out, "audience") != aud ||
		str(out, "token_endpoint") != "https://auth.example.com/oauth/token" || !slices.Equal(toStrings(out["scope"]), mgmt.ScopeValues()) {
		t.Errorf("init --json = %v", out)
	}
	api := h.object("api", "show", aud)
	if str(api, "name") != mgmt.APIName || len(api["scopes"].([]any)) != len(mgmt.Scopes) {
		t.Errorf("management API = %v", api)
	}
	grants := h.array("grant", "list", "--client", id)
	if len(grants) != 1 || str(grants[0], "audience") != aud || !slices.Equal(toStrings(grants[0]["scope"]), mgmt.ScopeValues()) {
		t.Errorf("admin grants = %v", grants)
	}
	if keys := h.array("key", "list"); len(keys) != 2 {
		t.Errorf("init created %d keys, want RS256 current and next", len(keys))
	}
	expect(t, oneLineError(h.run("init", "--issuer", issuer)))
	if clients := h.array("client", "list"); len(clients) != 1 {
		t.Errorf("a second init created a client: %v", clients)
	}

	// The table, on a fresh database, with the default issuer.
	h2 := newHarness(t)
	r := h2.run("init", "--name", "ops")
	if r.code != 0 || !strings.Contains(r.stdout, "client_secret:") || !strings.Contains(r.stdout, "http://127.0.0.1:8080/api/v2/") ||
		!strings.Contains(r.stderr, "Store the client secret now") {
		t.Errorf("init: %s", r)
	}
	if c := h2.array("client", "list"); len(c) != 1 || str(c[0], "name") != "ops" {
		t.Errorf("clients after init --name ops: %v", c)
	}
}
