package interop_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestOAuth4WebAPILogin runs the strict oauth4webapi relying party
// (node/login-rp.mjs) through the Authorization Code flow with PKCE against
// a real `gatehouse serve`, as a confidential web client and as a public
// SPA. Without node's packages it skips, except under CI, where it fails.
func TestOAuth4WebAPILogin(t *testing.T) {
	node, dir := nodePeer(t, "oauth4webapi")
	in := newInstance(t.TempDir())
	p := serve(t, "oauth4webapi login server", in, "--addr", "127.0.0.1:0")
	api := unique("login")
	in.admin(t, "api", "create", "--identifier", api, "--scope", "read", "--allow-offline-access")
	web := in.admin(t, "client", "create", "--name", "web", "--app-type", "regular_web", "--redirect-uri", "http://127.0.0.1:1/cb")
	spa := in.admin(t, "client", "create", "--name", "spa", "--app-type", "spa", "--redirect-uri", "http://127.0.0.1:2/", "--first-party")
	// The API's user access is require_client_grant: each login client needs
	// a grant for people.
	for _, c := range []map[string]any{web, spa} {
		in.admin(t, "grant", "create", "--client", str(c, "client_id"), "--audience", api, "--scope", "read", "--subject-type", "user")
	}
	const email, password = "rp@example.com", "a long enough passphrase"
	create := exec.Command(bin, "user", "create", "--email", email, "--password-stdin", "--db", in.db)
	create.Env = environ("GATEHOUSE_MASTER_KEY=" + in.masterKey)
	create.Stdin = strings.NewReader(password + "\n")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("gatehouse user create: %v\n%s", err, out)
	}
	clients, _ := json.Marshal([]map[string]string{
		{"name": "web", "client_id": str(web, "client_id"), "client_secret": str(web, "client_secret"), "redirect_uri": "http://127.0.0.1:1/cb"},
		{"name": "spa", "client_id": str(spa, "client_id"), "redirect_uri": "http://127.0.0.1:2/"},
	})
	// The server's catalog follows the database: wait until it knows both.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []map[string]any{web, spa} {
		deadline := time.Now().Add(setupDeadline)
		for {
			resp, err := noFollow.Get(p.base() + "/authorize?client_id=" + url.QueryEscape(str(c, "client_id")))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), "unknown or disabled") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the server does not know client %s after %s", str(c, "client_id"), setupDeadline)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	cmd := exec.Command(node, "login-rp.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_ISSUER="+p.issuer, "GATEHOUSE_AUDIENCE="+api, "LOGIN_EMAIL="+email,
		"LOGIN_PASSWORD="+password, "LOGIN_CLIENTS="+string(clients))
	out, err := runNode(t, cmd)
	if err != nil {
		t.Fatalf("login-rp.mjs failed: %v\n%s\n%s", err, out, p.logs())
	}
	for _, c := range []string{"web", "spa"} {
		if !strings.Contains(string(out), `{"client":"`+c+`","ok":[`) {
			t.Errorf("login-rp.mjs did not finish the %s client: %s", c, out)
		}
	}
}
