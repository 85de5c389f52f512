package cli_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
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

// TestAuditCounts reads the hourly token counts back with gatehouse audit
// counts: newest first, filtered by client, audience and time, and added
// up per UTC day with --by day.
func TestAuditCounts(t *testing.T) {
	h := newHarness(t)
	h.ok("migrate")
	store, err := sqlite.Open(t.Context(), strings.TrimPrefix(h.db, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	day := t0.UTC().Truncate(24 * time.Hour)
	hr := func(n int) time.Time { return day.Add(time.Duration(n) * time.Hour) }
	err = store.AddTokenCounts(t.Context(),
		storage.TokenCount{Hour: hr(1), ClientID: "c1", Audience: "https://a.test", Issued: 10, Reused: 4},
		storage.TokenCount{Hour: hr(2), ClientID: "c1", Audience: "https://a.test", Issued: 5},
		storage.TokenCount{Hour: hr(2), ClientID: "c2", Audience: "https://b.test", Issued: 1},
		storage.TokenCount{Hour: hr(2), ClientID: "unknown", Refused: 3},
		storage.TokenCount{Hour: hr(25), ClientID: "c1", Audience: "https://a.test", Issued: 7})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	type row = map[string]any
	summary := func(rows []row) string {
		var out []string
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%s %s %s %v/%v/%v", r["start"], r["client_id"], r["audience"], r["issued"], r["reused"], r["refused"]))
		}
		return strings.Join(out, "; ")
	}
	h1, h2, d0, d1 := hr(1).Format(time.RFC3339), hr(2).Format(time.RFC3339), day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--client", "c1", "--until", hr(24).Format(time.RFC3339)}, h2 + " c1 https://a.test 5/0/0; " + h1 + " c1 https://a.test 10/4/0"},
		{[]string{"--audience", "https://b.test"}, h2 + " c2 https://b.test 1/0/0"},
		{[]string{"--client", "unknown"}, h2 + " unknown  0/0/3"},
		{[]string{"--client", "c1", "--by", "day"}, d1 + " c1 https://a.test 7/0/0; " + d0 + " c1 https://a.test 15/4/0"},
	} {
		if got := summary(h.array(append([]string{"audit", "counts"}, tc.args...)...)); got != tc.want {
			t.Errorf("audit counts %v:\n got %s\nwant %s", tc.args, got, tc.want)
		}
	}
	table := h.ok("audit", "counts", "--since", hr(25).Format(time.RFC3339))
	if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "START") || !strings.Contains(lines[1], "c1") {
		t.Errorf("table:\n%s", table)
	}
	if r := h.run("audit", "counts", "--by", "week"); r.code == 0 || !strings.Contains(r.stderr, `--by "week" must be hour or day`) {
		t.Errorf("--by week: %s", r)
	}
}
