package interop_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// TestNodePeers runs strict JavaScript peers that nobody here wrote —
// oauth4webapi, jose and Auth0's express-oauth2-jwt-bearer — against a real
// server (ARCHITECTURE.md). Their packages are installed by `npm ci --prefix
// test/interop/node` (.ci/run does it); without them the test skips, except
// under CI, where it fails.
func TestNodePeers(t *testing.T) {
	node, dir := nodePeer(t, "oauth4webapi")
	srv, _ := sharedServers(t)
	c := srv.newClient(t, "node-peers")
	type api struct {
		Aud      string `json:"aud"`
		Alg      string `json:"alg"`
		Dialect  string `json:"dialect"`
		Lifetime int    `json:"lifetime"`
	}
	var apis []api
	for _, alg := range []string{"RS256", "ES256", "PS256", "EdDSA"} {
		apis = append(apis, api{srv.newAPI(t, alg, "read"), alg, "rfc9068", 86400})
	}
	auth0 := unique("auth0")
	srv.admin(t, "api", "create", "--identifier", auth0, "--signing-alg", "ES256", "--token-dialect", "auth0", "--scope", "read", "--token-lifetime", "1h")
	apis = append(apis, api{auth0, "ES256", "auth0", 3600})
	short := unique("short")
	srv.admin(t, "api", "create", "--identifier", short, "--signing-alg", "EdDSA", "--scope", "read", "--token-lifetime", "1s")
	apis = append(apis, api{short, "EdDSA", "rfc9068", 1})
	for _, a := range apis {
		srv.grant(t, c, a.Aud, "read")
	}
	srv.token(t, c, short) // the server has caught up
	spec, _ := json.Marshal(apis)
	cmd := exec.Command(node, "check.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GATEHOUSE_ISSUER="+srv.issuer, "GATEHOUSE_CLIENT_ID="+c.id, "GATEHOUSE_CLIENT_SECRET="+c.secret, "GATEHOUSE_APIS="+string(spec))
	out, err := runNode(t, cmd)
	if err != nil {
		t.Fatalf("node peers failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"expired refused"`) || strings.Count(string(out), "/rfc9068/") != 10 || strings.Count(string(out), "/auth0/") != 2 {
		t.Fatalf("node peers did not run every check: %s", out)
	}
}

// nodePeer returns node and the absolute path of test/interop/node, where
// `npm ci --prefix test/interop/node` installs the JavaScript peers, once
// node and the package pkg are there. Without them the test skips, except
// under CI, where it fails: CI installs them.
func nodePeer(t *testing.T, pkg string) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", pkg)); err != nil || statErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node or the npm package %s is missing (run npm ci --prefix test/interop/node): %v %v", pkg, err, statErr)
		}
		testutil.SkipSuite(t, pkg+" not installed: run `npm ci --prefix test/interop/node`")
	}
	return node, dir
}
