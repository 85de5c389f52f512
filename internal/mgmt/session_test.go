package mgmt_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
)

// TestAuthorizeToken: the check the admin console uses in process is the
// API's own: a token with the scope is admitted and names its caller for
// the audit trail; one without it is a 403, a forged or foreign one a 401.
func TestAuthorizeToken(t *testing.T) {
	e := newEnv(t)
	h, err := mgmt.New(mgmt.Config{Issuer: e.issuer, Admin: e.svc, Keys: e.srv.Keys(), Catalog: e.srv.Catalog()})
	if err != nil {
		t.Fatal(err)
	}
	reader := e.token(mgmt.ScopeReadClients)
	ctx, who, err := h.AuthorizeToken(e.ctx, reader, mgmt.ScopeReadClients)
	if err != nil || who.ClientID == "" || who.UserID != "" || admin.Actor(ctx) != who.ClientID {
		t.Fatalf("AuthorizeToken(read:clients) = %v, %+v, actor %q", err, who, admin.Actor(ctx))
	}
	id, secret := e.client(demoAPI, "read")
	for _, tc := range []struct {
		name, token, scope string
		status             int
	}{
		{"a scope the token lacks", reader, mgmt.ScopeCreateClients, http.StatusForbidden},
		{"a token for another API", e.tokenFor(id, secret, demoAPI), mgmt.ScopeReadClients, http.StatusUnauthorized},
		{"a forged token", reader[:len(reader)-4] + "AAAA", mgmt.ScopeReadClients, http.StatusUnauthorized},
		{"no token", "", mgmt.ScopeReadClients, http.StatusUnauthorized},
	} {
		_, _, err := h.AuthorizeToken(e.ctx, tc.token, tc.scope)
		var me *mgmt.Error
		if !errors.As(err, &me) || me.Status != tc.status {
			t.Errorf("%s: %v, want %d", tc.name, err, tc.status)
		}
	}
}
