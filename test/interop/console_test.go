package interop_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrowserConsole is issue 22's acceptance: a real browser (Debian's
// chromium through playwright-core) uses the admin console of a `gatehouse
// serve` process. `init --admin-email` makes the first administrator, who
// signs in through the hosted login, creates an API with two scopes, a
// machine client and a grant, runs the test panel's curl snippet for a
// token, rotates the secret with a grace and sees both secrets, revokes the
// old one, and finds the token in the activity chart and the actions in the
// audit trail with the person as actor; a person without permissions sees
// a 403 page and changes nothing. Without chromium or playwright-core it
// skips, except under CI or GATEHOUSE_REQUIRE_ALL=1, where it fails. With
// GATEHOUSE_SCREENSHOTS=DIR the main pages are saved there (docs/ holds
// them).
func TestBrowserConsole(t *testing.T) {
	dir, node, chromium := browserTools(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	in := newInstance(t.TempDir())
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	issuer := fmt.Sprintf("http://127.0.0.1:%d", port)
	const email, nobody, password = "admin@example.com", "nobody@example.com", "correct horse battery staple"
	initCmd := exec.Command(bin, "init", "--issuer", issuer, "--admin-email", email, "--password-stdin", "--db", in.db, "--json")
	initCmd.Env = environ("GATEHOUSE_MASTER_KEY=" + in.masterKey)
	initCmd.Stdin = strings.NewReader(password + "\n")
	out, err := initCmd.Output()
	if err != nil {
		t.Fatalf("gatehouse init --admin-email: %v\n%s", err, out)
	}
	var created struct {
		AdminUserID string `json:"admin_user_id"`
		Console     string `json:"console"`
	}
	if err := json.Unmarshal(out, &created); err != nil || created.AdminUserID == "" || created.Console != issuer+"/console" {
		t.Fatalf("init printed %s (%v)", out, err)
	}
	in.createUser(t, nobody, password)
	p := serve(t, "console server", in, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--issuer", issuer)

	shots := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if shots, err = filepath.Abs(filepath.Join(root, shots)); err != nil {
		t.Fatal(err)
	}
	api := unique("inventory") + "/"
	res, err := runBrowser(t.Context(), dir, node, "console.mjs", "BASE="+p.base(), "EMAIL="+email, "PASSWORD="+password,
		"NOBODY="+nobody, "API="+api, "SHOTS="+shots, "CHROMIUM="+chromium)
	if err != nil {
		t.Fatalf("the console script failed: %v\n%s\ngatehouse: %s", err, res, p.logs())
	}
	for _, s := range []string{"signed in through the hosted login", "bad input refused beside the field", "API created with two scopes",
		"machine client created, secret shown", "grant created", "curl snippet got a token", "rotated with a grace: both secrets listed",
		"old secret revoked", "token in the activity chart", "actions in the audit trail with the person as actor", "main pages",
		"a person without permissions sees a 403 page"} {
		if !strings.Contains(res, "ok: "+s) {
			t.Errorf("the console script did not report %q:\n%s", s, res)
		}
	}
	if !strings.Contains(res, "actor: "+created.AdminUserID) {
		t.Errorf("the audit trail's actor is not the administrator %s:\n%s", created.AdminUserID, res)
	}
	// The person without permissions changed nothing: no event of the audit
	// trail names them but their login.
	r := in.run(t, nil, "audit", "list", "--limit", "0", "--json")
	if r.code != 0 {
		t.Fatalf("audit list: %s", r.stderr)
	}
	var events []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &events); err != nil {
		t.Fatalf("audit list: %v", err)
	}
	ul := in.run(t, nil, "user", "list", "--json")
	var people []map[string]any
	if err := json.Unmarshal([]byte(ul.stdout), &people); err != nil {
		t.Fatalf("user list: %v %s", err, ul.stderr)
	}
	nobodyID := ""
	for _, u := range people {
		if u["email"] == nobody {
			nobodyID, _ = u["user_id"].(string)
		}
	}
	if nobodyID == "" {
		t.Fatalf("no user %s in %v", nobody, people)
	}
	for _, e := range events {
		if actor, _ := e["actor"].(string); actor != "" && actor == nobodyID && e["action"] != "user.login" {
			t.Errorf("the person without permissions changed something: %v", e)
		}
	}
	for _, f := range []string{"console-applications.png", "console-application.png", "console-api.png", "console-activity.png", "console-audit.png", "console-keys.png", "console-403.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
}
