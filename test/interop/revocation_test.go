package interop_test

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNodeRevocation runs oauth4webapi's revocation and introspection
// (RFC 7009, RFC 7662, RFC 9701) against a real server
// (test/interop/node/revocation.mjs): a peer nobody here wrote holds the
// endpoints, their errors and the signed JWT answers to the RFCs.
func TestNodeRevocation(t *testing.T) {
	node, dir := nodePeer(t, "oauth4webapi")
	srv, _ := sharedServers(t)
	aud := srv.newAPI(t, "ES256", "read")
	owner, thief, rs := srv.newClient(t, "owner"), srv.newClient(t, "thief"), srv.newClient(t, "orders-api")
	srv.grant(t, owner, aud, "read")
	srv.grant(t, thief, aud, "read")
	if r := srv.run(t, nil, "api", "introspector", "add", aud, rs.id); r.code != 0 {
		t.Fatalf("api introspector add: exit %d: %s", r.code, r.stderr)
	}
	srv.token(t, thief, aud)
	srv.introspector(t, rs, srv.token(t, owner, aud))
	cmd := exec.Command(node, "revocation.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_ISSUER="+srv.issuer, "GATEHOUSE_AUDIENCE="+aud,
		"GATEHOUSE_OWNER_ID="+owner.id, "GATEHOUSE_OWNER_SECRET="+owner.secret,
		"GATEHOUSE_THIEF_ID="+thief.id, "GATEHOUSE_THIEF_SECRET="+thief.secret,
		"GATEHOUSE_RS_ID="+rs.id, "GATEHOUSE_RS_SECRET="+rs.secret)
	out, err := runNode(t, cmd)
	if err != nil {
		t.Fatalf("oauth4webapi's revocation and introspection failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"revoked"`) {
		t.Fatalf("the script did not run every check: %s", out)
	}
}

// introspector waits until the server lets rs introspect tok: the right
// arrives through the change feed on its own, after the grants the token
// calls wait for, so a token issued proves nothing about it.
func (p *proc) introspector(t *testing.T, rs client, tok string) {
	t.Helper()
	status := 0
	for deadline := time.Now().Add(setupDeadline); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		req, err := http.NewRequest(http.MethodPost, p.base()+"/oauth/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(rs.id), url.QueryEscape(rs.secret))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if status = resp.StatusCode; status == http.StatusOK {
			return
		}
	}
	t.Fatalf("%s did not let %s introspect within %s: last HTTP %d", p.name, rs.id, setupDeadline, status)
}
