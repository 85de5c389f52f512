package interop_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// postDirect asks p's token endpoint at its address (its issuer is the
// fleet's public name, which only a load balancer would answer).
func postDirect(p *proc, c client, aud string) (tokenReply, error) {
	resp, err := hc.PostForm("http://"+p.addr+"/oauth/token",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {c.id}, "client_secret": {c.secret}, "audience": {aud}})
	if err != nil {
		return tokenReply{}, err
	}
	defer resp.Body.Close()
	r := tokenReply{status: resp.StatusCode}
	err = json.NewDecoder(resp.Body).Decode(&r.body)
	return r, err
}

// TestManagementAPIFleet runs two `gatehouse serve` processes with one
// public issuer on one PostgreSQL schema, as behind a load balancer: the
// command line in --server mode changes things through one instance's
// management API, and the other serves the change within one second
// (ARCHITECTURE.md); a management token of either works on both.
func TestManagementAPIFleet(t *testing.T) {
	in := postgresInstance(t)
	const issuer = "https://auth.fleet.test"
	adm := in.admin(t, "init", "--issuer", issuer)
	servers := make([]*proc, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, name := range []string{"fleet A", "fleet B"} {
		wg.Go(func() {
			servers[i], errs[i] = start(name, in, "--addr", "127.0.0.1:0", "--issuer", issuer, "--sync-interval", "1s")
		})
	}
	wg.Wait()
	for i, p := range servers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Cleanup(p.kill)
	}
	a, b := servers[0], servers[1]
	// The command line through A's management API (its address, not the
	// issuer, which a load balancer would answer).
	through := func(p *proc, args ...string) cliResult {
		t.Helper()
		r := in.run(t, []string{"GATEHOUSE_SERVER=http://" + p.addr, "GATEHOUSE_CLIENT_ID=" + str(adm, "client_id"),
			"GATEHOUSE_CLIENT_SECRET=" + str(adm, "client_secret")}, append(args, "--json")...)
		if r.code != 0 {
			t.Fatalf("gatehouse %s through %s: exit %d: %s", strings.Join(args, " "), p.name, r.code, r.stderr)
		}
		return r
	}
	object := func(r cliResult) map[string]any {
		var v map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("%v in %q", err, r.stdout)
		}
		return v
	}
	aud := unique("fleet")
	through(a, "api", "create", "--identifier", aud, "--signing-alg", "ES256", "--scope", "read")
	c := object(through(a, "client", "create", "--name", "fleet-client"))
	cl := client{id: str(c, "client_id"), secret: str(c, "client_secret")}
	r := through(a, "grant", "create", "--client", cl.id, "--audience", aud, "--scope", "read")
	within(t, r.exited, propagation, "a client created through A's management API", servers, func(p *proc) (bool, string) {
		reply, err := postDirect(p, cl, aud)
		if err != nil {
			t.Fatal(err)
		}
		return reply.status == 200, reply.String()
	})

	// Rotation through B, without grace: the old secret stops on A too.
	r = through(b, "client", "secret", "rotate", cl.id, "--grace", "0s")
	fresh := client{id: cl.id, secret: str(object(r), "client_secret")}
	within(t, r.exited, propagation, "a rotation through B's management API", servers, func(p *proc) (bool, string) {
		old, err := postDirect(p, cl, aud)
		if err != nil {
			t.Fatal(err)
		}
		now, err := postDirect(p, fresh, aud)
		if err != nil {
			t.Fatal(err)
		}
		return old.status == 401 && now.status == 200, "old " + old.String() + ", new " + now.String()
	})

	// The same listing through either instance.
	if la, lb := through(a, "client", "list").stdout, through(b, "client", "list").stdout; la != lb || !strings.Contains(la, cl.id) {
		t.Errorf("client list through A and B differ:\n%s\n%s", la, lb)
	}
}
