package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// auditLog is an admin.Auditor that keeps the events.
type auditLog struct{ events []storage.AuditEvent }

func (a *auditLog) Audit(_ context.Context, e storage.AuditEvent) error {
	a.events = append(a.events, e)
	return nil
}

var _ admin.Auditor = (*auditLog)(nil)

// TestEveryChangeIsAudited makes one of each admin change, as the command
// line (no actor) and as a management API client, and checks the event
// each records: action, actor, target, and that no secret is in it.
func TestEveryChangeIsAudited(t *testing.T) {
	svc := newService(t)
	log := &auditLog{}
	svc.Audit = log
	cli := t.Context()
	api := admin.WithActor(t.Context(), "mgmt-client")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := svc.CreateAPI(cli, admin.APIInput{Identifier: "https://api.example.com/", Scopes: []storage.Scope{{Value: "read"}}})
	must(err)
	_, err = svc.UpdateAPI(api, "https://api.example.com/", admin.APIPatch{Name: ptr("Things")})
	must(err)
	c, first, err := svc.CreateClient(cli, admin.ClientInput{Name: "svc"})
	must(err)
	_, err = svc.UpdateClient(api, c.ClientID, admin.ClientPatch{Description: ptr("d")})
	must(err)
	_, err = svc.SetClientDisabled(api, c.ClientID, true)
	must(err)
	_, err = svc.SetClientDisabled(api, c.ClientID, false)
	must(err)
	added, err := svc.AddSecret(api, c.ClientID, time.Time{}, 0)
	must(err)
	rotated, err := svc.RotateSecret(cli, c.ClientID, 0)
	must(err)
	must(svc.RevokeSecret(api, c.ClientID, added.ID))
	fc, err := svc.AddFederatedCredential(api, c.ClientID, admin.FederationInput{Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:acme/x:ref:refs/heads/main"})
	must(err)
	must(svc.RemoveFederatedCredential(cli, c.ClientID, fc.ID))
	g, err := svc.CreateGrant(cli, c.ClientID, "https://api.example.com/", []string{"read"})
	must(err)
	_, err = svc.UpdateGrant(api, g.ID, nil)
	must(err)
	must(svc.DeleteGrant(api, g.ID))
	must(svc.DeleteClient(cli, c.ClientID))
	must(svc.DeleteAPI(api, "https://api.example.com/"))
	if err := svc.DeleteClient(cli, "missing"); err == nil {
		t.Fatal("deleting a missing client succeeded")
	}

	want := []struct{ action, actor, target string }{
		{storage.AuditAPICreated, "cli", "https://api.example.com/"},
		{storage.AuditAPIUpdated, "mgmt-client", "https://api.example.com/"},
		{storage.AuditClientCreated, "cli", c.ClientID},
		{storage.AuditClientUpdated, "mgmt-client", c.ClientID},
		{storage.AuditClientDisabled, "mgmt-client", c.ClientID},
		{storage.AuditClientEnabled, "mgmt-client", c.ClientID},
		{storage.AuditSecretAdded, "mgmt-client", c.ClientID},
		{storage.AuditSecretRotated, "cli", c.ClientID},
		{storage.AuditSecretRevoked, "mgmt-client", c.ClientID},
		{storage.AuditFederationAdded, "mgmt-client", c.ClientID},
		{storage.AuditFederationRemoved, "cli", c.ClientID},
		{storage.AuditGrantCreated, "cli", c.ClientID},
		{storage.AuditGrantUpdated, "mgmt-client", c.ClientID},
		{storage.AuditGrantDeleted, "mgmt-client", c.ClientID},
		{storage.AuditClientDeleted, "cli", c.ClientID},
		{storage.AuditAPIDeleted, "mgmt-client", "https://api.example.com/"},
	}
	if len(log.events) != len(want) {
		t.Fatalf("%d events, want %d (a failed change records none): %+v", len(log.events), len(want), log.events)
	}
	for i, w := range want {
		e := log.events[i]
		if e.Action != w.action || e.Actor != w.actor || e.Target != w.target || e.Outcome != storage.OutcomeSuccess || e.Time.IsZero() {
			t.Errorf("event %d = %+v, want %s by %s on %s", i, e, w.action, w.actor, w.target)
		}
		text := fmt.Sprint(e)
		for _, plain := range []string{first.Plain, added.Plain, rotated.Plain} {
			if strings.Contains(text, plain) {
				t.Errorf("event %d holds a secret: %s", i, text)
			}
		}
	}
	if d := log.events[9].Details; d["credential_id"] != fc.ID || d["issuer"] != fc.Issuer || d["subject"] != fc.Subject {
		t.Errorf("federation.added details = %v", d)
	}
	if d := log.events[10].Details; d["credential_id"] != fc.ID {
		t.Errorf("federation.removed details = %v", d)
	}
	if d := log.events[11].Details; d["grant_id"] != g.ID || d["scope"] != "read" {
		t.Errorf("grant.created details = %v", d)
	}
	if d := log.events[7].Details; d["secret_id"] != rotated.ID {
		t.Errorf("secret.rotated details = %v", d)
	}
}
