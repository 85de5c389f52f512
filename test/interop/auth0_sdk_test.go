package interop_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestAuth0ManagementSDK points Auth0's own Node SDK (npm "auth0",
// ManagementClient and AuthenticationClient) at a real server bootstrapped
// by `gatehouse init` (issue 7's acceptance): it creates a resource server,
// a client and a client grant, rotates the secret, and the new client gets
// a token. Its packages are installed by `npm ci --prefix test/interop/node`;
// without them the test skips, except under CI, where it fails.
func TestAuth0ManagementSDK(t *testing.T) {
	node, dir := nodePeer(t, "auth0")
	in := newInstance(t.TempDir())
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	issuer := "http://" + addr
	adm := in.admin(t, "init", "--issuer", issuer)
	p := serve(t, "auth0 sdk server", in, "--addr", addr)
	if p.issuer != issuer {
		t.Fatalf("server issuer %s, init used %s", p.issuer, issuer)
	}
	cmd := exec.Command(node, "auth0-sdk.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_ISSUER="+issuer,
		"GATEHOUSE_ADMIN_ID="+str(adm, "client_id"), "GATEHOUSE_ADMIN_SECRET="+str(adm, "client_secret"))
	out, err := runNode(t, cmd)
	if err != nil {
		t.Fatalf("the auth0 SDK script failed: %v\n%s\n%s", err, out, p.logs())
	}
	for _, s := range []string{"resource server created", "client created", "grant created", "secret rotated", "token issued", "old secret refused", "refusals", "roles and permissions", "cleaned up"} {
		if !strings.Contains(string(out), `"step":"`+s+`"`) {
			t.Errorf("the script did not report %q:\n%s", s, out)
		}
	}
	t.Logf("auth0 SDK steps:\n%s", out)
	if logs := strings.Join(p.stderr.all(), "\n"); strings.Contains(logs, "gths_") {
		t.Error("a client secret reached the log")
	}
}
