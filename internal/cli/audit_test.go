package cli_test

import (
	"strings"
	"testing"
	"time"
)

// TestAuditList makes admin changes on the command line and reads them back
// with gatehouse audit list: actor cli, newest first, filtered by client and
// time, in a table and in JSON, with RFC 3339 UTC times and no secret.
func TestAuditList(t *testing.T) {
	h := newHarness(t)
	h.ok("api", "create", "--identifier", "https://api.example.com/", "--scope", "read")
	h.now = h.now.Add(time.Minute)
	c := h.object("client", "create", "--name", "svc")
	id, plain := c["client_id"].(string), c["client_secret"].(string)
	h.now = h.now.Add(time.Minute)
	h.ok("grant", "create", "--client", id, "--audience", "https://api.example.com/", "--scope", "read")
	h.now = h.now.Add(time.Minute)
	rot := h.object("client", "secret", "rotate", id)
	h.now = h.now.Add(time.Minute)
	h.ok("key", "rotate", "--force")

	all := h.array("audit", "list")
	var actions []string
	for _, e := range all {
		actions = append(actions, e["action"].(string))
		if e["actor"] != "cli" {
			t.Errorf("event %v: actor %v, want cli", e["action"], e["actor"])
		}
	}
	if got := strings.Join(actions, ","); !strings.HasPrefix(got, "key.rotated,secret.rotated,grant.created,client.created,api.created") {
		t.Errorf("actions newest first = %s", got)
	}
	if all[len(all)-1]["time"] != t0.Format(time.RFC3339) {
		t.Errorf("oldest time = %v, want %s", all[len(all)-1]["time"], t0.Format(time.RFC3339))
	}
	mine := h.array("audit", "list", "--client", id)
	if len(mine) != 3 {
		t.Errorf("--client %s: %d events, want 3 (client, grant, secret)", id, len(mine))
	}
	since := h.array("audit", "list", "--since", t0.Add(2*time.Minute).Format(time.RFC3339))
	ago := h.array("audit", "list", "--since", "2m")
	if len(since) < 3 || len(ago) != 3 {
		t.Errorf("--since RFC 3339: %d events, --since 2m: %d; want the grant, rotation and key events", len(since), len(ago))
	}
	table := h.ok("audit", "list", "--limit", "2")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[2], "secret.rotated") {
		t.Errorf("table:\n%s", table)
	}
	for _, out := range []string{table, h.ok("audit", "list", "--json")} {
		for _, s := range []string{plain, rot["client_secret"].(string)} {
			if strings.Contains(out, s) {
				t.Fatal("the audit trail shows a secret")
			}
		}
	}
	if r := h.run("audit", "list", "--since", "yesterday"); r.code == 0 || !strings.Contains(r.stderr, "--since \"yesterday\" must be an RFC 3339 time") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("a bad --since: %s", r)
	}
}
