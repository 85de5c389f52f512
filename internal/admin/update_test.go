package admin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func TestUpdateAPIAndGrant(t *testing.T) {
	svc := newService(t)
	ctx := t.Context()
	const aud = "https://api.test"
	if _, err := svc.CreateAPI(ctx, admin.APIInput{Identifier: aud, Scopes: []storage.Scope{{Value: "read"}, {Value: "write"}}}); err != nil {
		t.Fatal(err)
	}
	c, _, err := svc.CreateClient(ctx, admin.ClientInput{Name: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.CreateGrant(ctx, c.ClientID, aud, []string{"read", "write"})
	if err != nil {
		t.Fatal(err)
	}

	hour := time.Hour
	got, err := svc.UpdateAPI(ctx, aud, admin.APIPatch{Name: ptr("Orders"), TokenLifetime: &hour, TokenDialect: ptr(storage.DialectAuth0)})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := svc.GetAPI(ctx, aud)
	for _, a := range []storage.API{got, stored} {
		if a.Name != "Orders" || a.TokenLifetime != hour || a.TokenDialect != storage.DialectAuth0 || a.SigningAlg != "RS256" || len(a.Scopes) != 2 {
			t.Errorf("after update: %+v", a)
		}
	}
	zero := time.Duration(0)
	_, err = svc.UpdateAPI(ctx, aud, admin.APIPatch{TokenLifetime: &zero, SigningAlg: ptr("HS256")})
	if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), "token lifetime 0s") || !strings.Contains(err.Error(), "HS256") {
		t.Errorf("invalid patch: %v", err)
	}
	// A scope dropped from the API leaves the grants that held it, in the
	// same write, and each such grant's change is audited (Terraform
	// changes the API's scopes before the grant's).
	log := &auditLog{}
	svc.Audit = log
	only := []storage.Scope{{Value: "read"}}
	// A person acting through the management API (whose client the event
	// names in details.client_id): the event must still name the grant's
	// client, as every other grant event does, in its target.
	byPerson := admin.WithPerson(ctx, "auth0|alice", "mgmt-console")
	if _, err := svc.UpdateAPI(byPerson, aud, admin.APIPatch{Scopes: &only}); err != nil {
		t.Fatalf("dropping a granted scope: %v", err)
	}
	if gg, _ := svc.Store.GetGrant(ctx, g.ID); len(gg.Scope) != 1 || gg.Scope[0] != "read" {
		t.Errorf("grant after its API dropped a scope: %+v", gg)
	}
	var pruned []storage.AuditEvent
	for _, e := range log.events {
		if e.Action == storage.AuditGrantUpdated {
			pruned = append(pruned, e)
		}
	}
	if len(pruned) != 1 || pruned[0].Target != c.ClientID || pruned[0].Details["grant_id"] != g.ID || pruned[0].Details["removed"] != "write" ||
		pruned[0].Details["scope"] != "read" || pruned[0].Actor != "auth0|alice" || pruned[0].Details["client_id"] != "mgmt-console" {
		t.Errorf("audit of the pruned grant: %+v", pruned)
	}
	svc.Audit = nil
	if _, err := svc.UpdateGrant(ctx, g.ID, []string{"read", "read"}); err != nil {
		t.Fatal(err)
	}
	if gg, _ := svc.Store.GetGrant(ctx, g.ID); len(gg.Scope) != 1 || gg.Scope[0] != "read" {
		t.Errorf("grant after update: %+v", gg)
	}
	if _, err := svc.UpdateAPI(ctx, aud, admin.APIPatch{Scopes: &only}); err != nil {
		t.Errorf("dropping a scope no grant holds: %v", err)
	}
	if _, err := svc.UpdateGrant(ctx, g.ID, []string{"write"}); !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), `does not define scope "write"`) {
		t.Errorf("granting an undefined scope: %v", err)
	}
	if _, err := svc.UpdateGrant(ctx, "missing", nil); !errors.Is(err, storage.ErrNotFound) || admin.NotFoundKind(err) != "grant" {
		t.Errorf("missing grant: %v", err)
	}
	if _, err := svc.UpdateAPI(ctx, "https://missing.test", admin.APIPatch{}); !errors.Is(err, storage.ErrNotFound) || admin.NotFoundKind(err) != "API" {
		t.Errorf("missing API: %v", err)
	}
}

// TestDeleteUser deletes a user by ID or email, audited; a second delete
// is not found.
func TestDeleteUser(t *testing.T) {
	svc := newService(t)
	log := &auditLog{}
	svc.Audit = log
	ctx := t.Context()
	u, err := svc.CreateUser(ctx, admin.UserInput{Email: "gone@example.com", Password: "long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteUser(ctx, "Gone@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetUser(ctx, u.UserID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := svc.DeleteUser(ctx, u.UserID); !errors.Is(err, storage.ErrNotFound) || admin.NotFoundKind(err) != "user" {
		t.Errorf("second delete: %v", err)
	}
	if last := log.events[len(log.events)-1]; last.Action != storage.AuditUserDeleted || last.Target != u.UserID {
		t.Errorf("audit: %+v", last)
	}
}

// TestClientExtras checks the Auth0 settings a client keeps: stored as
// given, and refused all at once when malformed.
func TestClientExtras(t *testing.T) {
	svc := newService(t)
	ctx := t.Context()
	x := storage.ClientExtras{LogoURI: "https://example.com/logo.png", ClientAliases: []string{"urn:a"}, AllowedClients: []string{"abc"}}
	c, _, err := svc.CreateClient(ctx, admin.ClientInput{Name: "x", Extras: x})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.GetClient(ctx, c.ClientID); got.Extras.LogoURI != x.LogoURI || len(got.Extras.ClientAliases) != 1 {
		t.Errorf("stored extras: %+v", got.Extras)
	}
	bad := storage.ClientExtras{LogoURI: "javascript:alert(1)", ClientAliases: []string{"a b"}, AllowedClients: []string{""}}
	_, err = svc.UpdateClient(ctx, c.ClientID, admin.ClientPatch{Extras: &bad})
	for _, want := range []string{"logo URI", `client alias "a b"`, `allowed client ""`} {
		if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("bad extras: %v, want %q", err, want)
		}
	}
}
