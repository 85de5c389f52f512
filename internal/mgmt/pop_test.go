package mgmt_test

import (
	"testing"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// TestProofOfPossessionFields: Auth0's proof_of_possession of a resource
// server and require_proof_of_possession of a client, as go-auth0 v1.10.0
// sends them, read back as sent (no Terraform drift); PATCH null unsets
// the API's; what cannot be honoured is refused with the reason.
func TestProofOfPossessionFields(t *testing.T) {
	e := newEnv(t)
	m := e.sdk()
	ctx := e.ctx
	rs := &management.ResourceServer{Identifier: auth0.String("https://pop.sdk.test/"),
		ProofOfPossession: &management.ResourceServerProofOfPossession{Mechanism: auth0.String("dpop"), Required: auth0.Bool(true)}}
	sent := *rs
	if err := m.ResourceServer.Create(ctx, rs); err != nil {
		t.Fatalf("create: %v", err)
	}
	got, err := m.ResourceServer.Read(ctx, rs.GetID())
	if err != nil {
		t.Fatal(err)
	}
	noDrift(t, "resource server", sent, got)
	if p := got.GetProofOfPossession(); p.GetMechanism() != "dpop" || !p.GetRequired() {
		t.Errorf("proof_of_possession read back %v", p)
	}
	if err := m.ResourceServer.Update(ctx, rs.GetID(), got); err != nil {
		t.Errorf("update with the object read: %v", err)
	}

	// Terraform's required_for, newer than v1.10.0, and null to unset.
	path := "/api/v2/resource-servers/" + rs.GetID()
	v := e.must(200, "PATCH", path, `{"proof_of_possession":{"mechanism":"dpop","required":true,"required_for":"public_clients"}}`).obj(t)
	if jsonBody(v["proof_of_possession"]) != `{"mechanism":"dpop","required":true,"required_for":"public_clients"}` {
		t.Errorf("required_for: %s", jsonBody(v["proof_of_possession"]))
	}
	if v := e.must(200, "PATCH", path, `{"proof_of_possession":null}`).obj(t); v["proof_of_possession"] != nil {
		t.Errorf("after null: %s", jsonBody(v["proof_of_possession"]))
	}
	if v := e.must(200, "PATCH", path, `{"name":"still unset"}`).obj(t); v["proof_of_possession"] != nil {
		t.Errorf("a PATCH without it changed it: %s", jsonBody(v["proof_of_possession"]))
	}
	for _, tt := range []struct{ name, body, msg string }{
		{"required without mechanism", `{"proof_of_possession":{"required":true}}`, "without a mechanism"},
		{"unknown required_for", `{"proof_of_possession":{"mechanism":"dpop","required_for":"everyone"}}`, `required_for "everyone"`},
		{"unknown member", `{"proof_of_possession":{"mechanism":"dpop","disable":true}}`, "proof_of_possession must be null or an object"},
		{"not an object", `{"proof_of_possession":"dpop"}`, "proof_of_possession"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.name, e.as("PATCH", path, tt.body), 400, "invalid_body", tt.msg)
		})
	}

	cl := &management.Client{Name: auth0.String("Bound"), AppType: auth0.String("non_interactive"), RequireProofOfPossession: auth0.Bool(true)}
	sentClient := *cl
	if err := m.Client.Create(ctx, cl); err != nil {
		t.Fatalf("create client: %v", err)
	}
	gotClient, err := m.Client.Read(ctx, cl.GetClientID())
	if err != nil {
		t.Fatal(err)
	}
	noDrift(t, "client", sentClient, gotClient)
	if err := m.Client.Update(ctx, cl.GetClientID(), &management.Client{RequireProofOfPossession: auth0.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if gotClient, _ = m.Client.Read(ctx, cl.GetClientID()); gotClient.GetRequireProofOfPossession() {
		t.Error("require_proof_of_possession stayed on")
	}
}
