package cli_test

import (
	"encoding/json"
	"testing"
)

func jsonBody(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestProofOfPossessionCommands: an API's proof_of_possession and a
// client's require_proof_of_possession are set, changed and shown by the
// api and client commands, locally and through the management API alike.
func TestProofOfPossessionCommands(t *testing.T) {
	h := newHarness(t)
	r := startServer(t, h)
	for _, remote := range []bool{false, true} {
		run := func(fn func()) {
			if remote {
				h.asRemote(r, fn)
			} else {
				fn()
			}
		}
		id := "https://pop.test/local"
		if remote {
			id = "https://pop.test/remote"
		}
		run(func() {
			api := h.object("api", "create", "--identifier", id, "--pop-mechanism", "dpop", "--pop-required")
			if got := jsonBody(api["proof_of_possession"]); got != `{"mechanism":"dpop","required":true}` {
				t.Errorf("remote=%v create: proof_of_possession %s", remote, got)
			}
			api = h.object("api", "update", id, "--pop-required-for", "public_clients")
			if got := jsonBody(api["proof_of_possession"]); got != `{"mechanism":"dpop","required":true,"required_for":"public_clients"}` {
				t.Errorf("remote=%v update: proof_of_possession %s", remote, got)
			}
			if api = h.object("api", "update", id, "--pop-mechanism", "none"); api["proof_of_possession"] != nil {
				t.Errorf("remote=%v none: proof_of_possession %s", remote, jsonBody(api["proof_of_possession"]))
			}
			h.failsWith([]string{"proof-of-possession mechanism \"tls\" must be dpop or mtls"}, "api", "update", id, "--pop-mechanism", "tls")
			c := h.object("client", "create", "--name", "bound", "--require-proof-of-possession")
			if c["require_proof_of_possession"] != true {
				t.Errorf("remote=%v client create: %v", remote, c)
			}
			if c = h.object("client", "update", str(c, "client_id"), "--require-proof-of-possession=false"); c["require_proof_of_possession"] != nil {
				t.Errorf("remote=%v client update: %v", remote, c)
			}
		})
	}
}
