package interop_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestDevSeedAdmin checks the admin client that `serve --dev` seeds: its
// printed curl command gets a management API token that lists the clients.
func TestDevSeedAdmin(t *testing.T) {
	p := serve(t, "dev server with admin", newInstance(t.TempDir()), "--addr", "127.0.0.1:0", "--dev")
	out := p.stdout.String()
	urls, bodies := curlURL.FindAllStringSubmatch(out, -1), curlBody.FindAllStringSubmatch(out, -1)
	if len(urls) != 2 || len(bodies) != 2 || !strings.Contains(bodies[1][1], `"audience":"`+p.base()+`/api/v2/"`) {
		t.Fatalf("want the demo and the admin curl commands in the --dev output:\n%s", out)
	}
	resp, err := hc.Post(urls[1][1], "application/json", strings.NewReader(bodies[1][1]))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(tok.Scope, "create:clients") {
		t.Fatalf("the admin curl command got %d, scope %q", resp.StatusCode, tok.Scope)
	}
	req, _ := http.NewRequest("GET", p.base()+"/api/v2/clients", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var clients []map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&clients)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(clients) != 2 {
		t.Fatalf("GET /api/v2/clients with the dev admin token: %d, %d clients (want the demo and the admin)", resp.StatusCode, len(clients))
	}
}
