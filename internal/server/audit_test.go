package server_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// TestAuditOfManagementAPI checks that changes made through the management
// API are audited with the acting client, its address and request ID, and
// that the system's own start-up change (the management API) names the
// system.
func TestAuditOfManagementAPI(t *testing.T) {
	f := newFixture(t)
	aud := mgmt.Audience(f.issuer)
	ac, err := mgmt.Bootstrap(f.ctx, f.admin, f.issuer, "admin")
	if err != nil {
		t.Fatal(err)
	}
	f.sync()
	tok := f.postForm("grant_type", "client_credentials", "client_id", ac.Client.ClientID, "client_secret", ac.Secret.Plain, "audience", aud)
	if tok.status != 200 {
		t.Fatalf("admin token: %d %v", tok.status, tok.raw)
	}
	call := func(method, path, body string) int {
		req, _ := http.NewRequest(method, f.http.URL+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+tok.str("access_token"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", "audit-test-1")
		resp, err := f.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := call("POST", "/api/v2/clients", `{"name":"made-by-api"}`); code != 201 {
		t.Fatalf("create client through the API: %d", code)
	}
	if code := call("POST", "/api/v2/keys/rotate?force=true", ``); code >= 300 {
		t.Fatalf("rotate keys through the API: %d", code)
	}
	events, err := f.store.ListAudit(f.ctx, storage.AuditFilter{ClientID: ac.Client.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	var created, rotated *storage.AuditEvent
	for i, e := range events {
		switch e.Action {
		case storage.AuditClientCreated:
			if e.Actor == ac.Client.ClientID {
				created = &events[i]
			}
		case storage.AuditKeyRotated:
			rotated = &events[i]
		}
	}
	if created == nil || created.RemoteAddr != "127.0.0.1" || created.RequestID != "audit-test-1" || created.Details["name"] != "made-by-api" {
		t.Errorf("client.created by the API client: %+v (all: %+v)", created, events)
	}
	if rotated == nil || rotated.Actor != ac.Client.ClientID || rotated.Details["alg"] == "" {
		t.Errorf("key.rotated by the API client: %+v", rotated)
	}
	sys, _ := f.store.ListAudit(f.ctx, storage.AuditFilter{ClientID: aud})
	if len(sys) != 1 || sys[0].Actor != storage.ActorSystem || sys[0].Action != storage.AuditAPICreated {
		t.Errorf("the management API's creation at start: %+v", sys)
	}
}
