package interop_test

import (
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
	srv.token(t, thief, aud) // the server has caught up
	cmd := exec.Command(node, "revocation.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_ISSUER="+srv.issuer, "GATEHOUSE_AUDIENCE="+aud,
		"GATEHOUSE_OWNER_ID="+owner.id, "GATEHOUSE_OWNER_SECRET="+owner.secret,
		"GATEHOUSE_THIEF_ID="+thief.id, "GATEHOUSE_THIEF_SECRET="+thief.secret,
		"GATEHOUSE_RS_ID="+rs.id, "GATEHOUSE_RS_SECRET="+rs.secret)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("node did not finish in 60 s: %s", out)
	}
	if err != nil {
		t.Fatalf("oauth4webapi's revocation and introspection failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"revoked"`) {
		t.Fatalf("the script did not run every check: %s", out)
	}
}
