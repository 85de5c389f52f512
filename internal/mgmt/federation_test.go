package mgmt_test

import (
	"net/http"
	"testing"
)

// TestFederatedCredentialRoutes: create, list, get and delete a client's
// federated credentials; bad input is a 400 that says why, a missing client
// or credential a 404; each change is in the catalog when the write is
// answered (the audit events: admin's TestEveryChangeIsAudited).
func TestFederatedCredentialRoutes(t *testing.T) {
	e := newEnv(t)
	id, _ := e.client(demoAPI, "read")
	base := "/api/v2/clients/" + id + "/federated-credentials"

	bad := []struct{ name, body, msg string }{
		{"no subject", `{"issuer":"https://token.actions.githubusercontent.com"}`, `"subject"`},
		{"http issuer", `{"issuer":"http://issuer.example.com","subject":"s"}`, "https"},
		{"claim on aud", `{"issuer":"https://i.example.com","subject":"s","claims":{"aud":"x"}}`, "--audience"},
		{"cap too long", `{"issuer":"https://i.example.com","subject":"s","max_lifetime":86401}`, "max lifetime"},
		{"subject *", `{"issuer":"https://i.example.com","subject":"*"}`, "every workload"},
		{"unknown field", `{"issuer":"https://i.example.com","subject":"s","jwks":{}}`, "jwks"},
	}
	for _, tc := range bad {
		wantError(t, tc.name, e.as("POST", base, tc.body), http.StatusBadRequest, "invalid_body", tc.msg)
	}
	wantError(t, "missing client", e.as("POST", "/api/v2/clients/nope/federated-credentials",
		`{"issuer":"https://i.example.com","subject":"s"}`), http.StatusNotFound, "inexistent_client", "nope")

	created := e.must(http.StatusCreated, "POST", base, `{"issuer":"https://token.actions.githubusercontent.com",
		"subject":"repo:acme/deploy:ref:refs/heads/main","claims":{"repository_owner":"acme"},"max_lifetime":600}`).obj(t)
	fid := str(created, "id")
	if str(created, "issuer") != "https://token.actions.githubusercontent.com" || created["max_lifetime"] != float64(600) ||
		created["claims"].(map[string]any)["repository_owner"] != "acme" || str(created, "client_id") != id {
		t.Fatalf("created %v", created)
	}
	if c, ok := e.srv.Catalog().Snapshot().Client(id); !ok || len(c.Federated) != 1 || c.Federated[0].ID != fid {
		t.Fatalf("the catalog does not hold the credential when the write is answered")
	}
	wantError(t, "the same again", e.as("POST", base, `{"issuer":"https://token.actions.githubusercontent.com",
		"subject":"repo:acme/deploy:ref:refs/heads/main","claims":{"repository_owner":"acme"}}`), http.StatusConflict, "federated_credential_conflict", fid)

	list := e.must(http.StatusOK, "GET", base, "").arr(t)
	if len(list) != 1 || str(list[0], "id") != fid {
		t.Fatalf("list %v", list)
	}
	if got := e.must(http.StatusOK, "GET", base+"/"+fid, "").obj(t); str(got, "subject") != "repo:acme/deploy:ref:refs/heads/main" {
		t.Errorf("get %v", got)
	}
	wantError(t, "get missing", e.as("GET", base+"/fed_nope", ""), http.StatusNotFound, "inexistent_federated_credential", "fed_nope")

	e.must(http.StatusNoContent, "DELETE", base+"/"+fid, "")
	e.must(http.StatusNoContent, "DELETE", base+"/"+fid, "") // idempotent
	if c, _ := e.srv.Catalog().Snapshot().Client(id); len(c.Federated) != 0 {
		t.Error("the catalog still holds the deleted credential")
	}
	if list := e.must(http.StatusOK, "GET", base, "").arr(t); len(list) != 0 {
		t.Errorf("list after delete %v", list)
	}
}
