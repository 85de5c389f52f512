package mgmt_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// unreachable is what a backend returns when it cannot reach its database:
// the driver's words wrapping storage.ErrUnavailable.
var unreachable = fmt.Errorf("dial tcp 10.9.8.7:5432: connect: connection refused: %w", storage.ErrUnavailable)

// downStore is a store whose database is gone: the calls the management
// routes make fail with storage.ErrUnavailable.
type downStore struct{ storage.Storage }

func (downStore) CreateAPI(context.Context, storage.API) error { return unreachable }
func (downStore) GetAPI(context.Context, string) (storage.API, error) {
	return storage.API{}, unreachable
}
func (downStore) ListAPIs(context.Context) ([]storage.API, error) { return nil, unreachable }
func (downStore) UpdateAPI(context.Context, storage.API) error    { return unreachable }
func (downStore) DeleteAPI(context.Context, string) error         { return unreachable }
func (downStore) CreateClient(context.Context, storage.Client, ...storage.Secret) error {
	return unreachable
}
func (downStore) GetClient(context.Context, string) (storage.Client, error) {
	return storage.Client{}, unreachable
}
func (downStore) ListClients(context.Context) ([]storage.Client, error) { return nil, unreachable }
func (downStore) UpdateClient(context.Context, storage.Client) error    { return unreachable }
func (downStore) DeleteClient(context.Context, string) error            { return unreachable }
func (downStore) RotateSecret(context.Context, storage.Secret, time.Time) error {
	return unreachable
}
func (downStore) CreateGrant(context.Context, storage.Grant) error { return unreachable }
func (downStore) ListGrants(context.Context, storage.GrantFilter) ([]storage.Grant, error) {
	return nil, unreachable
}

// TestWritesDuringAStorageOutage: while the database is unreachable every
// management call answers 503 with Retry-After, in Auth0's error shape, and
// tells the caller to try again; the driver's words (an address) stay in
// the log. A 500 would tell an SDK the request is broken, not to retry.
func TestWritesDuringAStorageOutage(t *testing.T) {
	e := newEnv(t)
	c, _, err := e.svc.CreateClient(e.ctx, admin.ClientInput{Name: "before the outage"})
	if err != nil {
		t.Fatal(err)
	}
	id, secret := e.client(mgmt.Audience(e.issuer), mgmt.ScopeCreateClients)
	e.sync()
	remote, err := mgmt.Dial(e.ctx, mgmt.RemoteConfig{Server: e.http.URL, ClientID: id, ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Store = downStore{e.svc.Store}
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/v2/clients", `{"name":"new"}`},
		{"PATCH", "/api/v2/clients/" + c.ClientID, `{"name":"renamed"}`},
		{"DELETE", "/api/v2/clients/" + c.ClientID, ""},
		{"POST", "/api/v2/clients/" + c.ClientID + "/rotate-secret", ""},
		{"POST", "/api/v2/resource-servers", `{"identifier":"https://new.test"}`},
		{"PATCH", "/api/v2/resource-servers/" + strings.ReplaceAll(demoAPI, "/", "%2F"), `{"name":"renamed"}`},
		{"POST", "/api/v2/client-grants", `{"client_id":"` + c.ClientID + `","audience":"` + demoAPI + `","scope":["read"]}`},
		{"GET", "/api/v2/clients/" + c.ClientID, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := e.as(tc.method, tc.path, tc.body)
			wantError(t, tc.method+" "+tc.path, r, http.StatusServiceUnavailable, mgmt.CodeUnavailable, "the database is unreachable")
			if got := r.header.Get("Retry-After"); got != mgmt.RetryAfter {
				t.Errorf("Retry-After %q, want %q", got, mgmt.RetryAfter)
			}
			if strings.Contains(string(r.body), "10.9.8.7") {
				t.Errorf("the answer shows the driver's error: %s", r.body)
			}
		})
	}
	// The command line's --server mode says so, and matches the sentinel
	// as a local call does.
	_, _, err = remote.CreateClient(e.ctx, admin.ClientInput{Name: "remote"})
	if !errors.Is(err, storage.ErrUnavailable) || !strings.HasPrefix(err.Error(), "the database is unreachable") {
		t.Errorf("Remote.CreateClient during the outage: %v, want \"the database is unreachable ...\" matching storage.ErrUnavailable", err)
	}
}
