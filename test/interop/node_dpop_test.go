package interop_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/verify"
)

// TestNodeDPoP: openid-client and oauth4webapi (npm) get DPoP-bound
// tokens (RFC 9449) from a real gatehouse server that requires server
// nonces, for an API that requires DPoP, and call an API protected by
// package verify with them; a bearer request, the bound token sent as
// Bearer, and the token with another key's proof are refused.
func TestNodeDPoP(t *testing.T) {
	node, dir := nodePeer(t, "openid-client")
	p := serve(t, "dpop nonce server", newInstance(t.TempDir()), "--addr", "127.0.0.1:0", "--dpop-nonce")
	c := p.newClient(t, "node-dpop")
	aud := unique("dpop")
	p.admin(t, "api", "create", "--identifier", aud, "--signing-alg", "ES256", "--scope", "read", "--pop-mechanism", "dpop", "--pop-required")
	p.grant(t, c, aud, "read")

	v, err := verify.New(verify.Config{Issuer: p.issuer, Audience: aud})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(v.Require("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cl, _ := verify.ClaimsFromContext(r.Context())
		_, _ = w.Write([]byte(cl.Confirmation.JKT))
	})))
	defer api.Close()

	// The server knows the grant once a DPoP-less request is refused for
	// the API's sake, not the client's.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := p.postToken(c, aud)
		if err == nil && strings.Contains(r.String(), "requires DPoP") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not come to require DPoP: %v %v", r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd := exec.Command(node, "dpop.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_ISSUER="+p.issuer, "GATEHOUSE_CLIENT_ID="+c.id, "GATEHOUSE_CLIENT_SECRET="+c.secret,
		"GATEHOUSE_AUDIENCE="+aud, "GATEHOUSE_API_URL="+api.URL+"/things")
	out, err := runNode(t, cmd)
	if err != nil {
		t.Fatalf("node DPoP peers failed: %v\n%s", err, out)
	}
	for _, want := range []string{"openid-client bound token", "bearer refused", "openid-client API call", "stolen token refused", "oauth4webapi bound token"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("node DPoP peers did not report %q: %s", want, out)
		}
	}
}
