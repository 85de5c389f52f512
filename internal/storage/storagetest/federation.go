package storagetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func newFederated(id, clientID string, created time.Time) storage.FederatedCredential {
	return storage.FederatedCredential{
		ID: id, ClientID: clientID, Issuer: "https://token.actions.githubusercontent.com",
		Subject: "repo:acme/" + id + ":ref:refs/heads/main", CreatedAt: created,
	}
}

// sameFederated compares credentials field by field, times as instants.
func sameFederated(t *testing.T, what string, got []storage.FederatedCredential, want ...storage.FederatedCredential) {
	t.Helper()
	norm := func(l []storage.FederatedCredential) []storage.FederatedCredential {
		out := make([]storage.FederatedCredential, len(l))
		for i, fc := range l {
			fc.CreatedAt = fc.CreatedAt.Truncate(time.Microsecond).UTC()
			if len(fc.Claims) == 0 {
				fc.Claims = nil
			}
			out[i] = fc
		}
		return out
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
	for _, fc := range got {
		if fc.CreatedAt.Location() != time.UTC {
			t.Errorf("%s: %s created_at in %v, want UTC", what, fc.ID, fc.CreatedAt.Location())
		}
	}
}

// testFederatedCredentials: the round trip of every field, the order of
// both lists, the change feed, the errors and the cascade of DeleteClient.
func testFederatedCredentials(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c1", at(0))))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c2", at(0))))
	sameFederated(t, "ListFederatedCredentials of a client with none",
		get[[]storage.FederatedCredential](t, "ListFederatedCredentials")(s.ListFederatedCredentials(ctx, "c1")))

	full := storage.FederatedCredential{
		ID: "f2", ClientID: "c1", Issuer: "https://kubernetes.example.com/clusters/one",
		Subject: "system:serviceaccount:payments:*", Audience: "https://auth.example.com/",
		Claims:      map[string]string{"kubernetes.io/namespace": "payments", "ref": "refs/heads/main"},
		MaxLifetime: 2 * time.Hour, CreatedAt: at(2),
	}
	f1, f3, other := newFederated("f1", "c1", at(1)), newFederated("f3", "c1", at(2)), newFederated("f0", "c2", at(3))
	seq := latest(t, ctx, s)
	for _, fc := range []storage.FederatedCredential{f3, full, f1, other} {
		must(t, "AddFederatedCredential "+fc.ID, s.AddFederatedCredential(ctx, fc))
	}
	seq = wantChanges(t, ctx, s, "AddFederatedCredential", seq, clientChange("c1"), clientChange("c1"), clientChange("c1"), clientChange("c2"))
	sameFederated(t, "ListFederatedCredentials(c1)",
		get[[]storage.FederatedCredential](t, "ListFederatedCredentials")(s.ListFederatedCredentials(ctx, "c1")), f1, full, f3)
	sameFederated(t, "ListAllFederatedCredentials",
		get[[]storage.FederatedCredential](t, "ListAllFederatedCredentials")(s.ListAllFederatedCredentials(ctx)), f1, full, f3, other)

	wantErr(t, "AddFederatedCredential with a taken ID", s.AddFederatedCredential(ctx, newFederated("f1", "c2", at(4))), storage.ErrAlreadyExists)
	wantErr(t, "AddFederatedCredential to a missing client", s.AddFederatedCredential(ctx, newFederated("f9", "nope", at(4))), storage.ErrNotFound)
	_, err := s.ListFederatedCredentials(ctx, "nope")
	wantErr(t, "ListFederatedCredentials of a missing client", err, storage.ErrNotFound)
	wantErr(t, "DeleteFederatedCredential of another client", s.DeleteFederatedCredential(ctx, "c2", "f1"), storage.ErrNotFound)
	wantErr(t, "DeleteFederatedCredential of a missing one", s.DeleteFederatedCredential(ctx, "c1", "f9"), storage.ErrNotFound)
	seq = wantChanges(t, ctx, s, "failed writes", seq)

	must(t, "DeleteFederatedCredential", s.DeleteFederatedCredential(ctx, "c1", "f2"))
	seq = wantChanges(t, ctx, s, "DeleteFederatedCredential", seq, clientChange("c1"))
	sameFederated(t, "ListFederatedCredentials(c1) after delete",
		get[[]storage.FederatedCredential](t, "ListFederatedCredentials")(s.ListFederatedCredentials(ctx, "c1")), f1, f3)

	must(t, "DeleteClient", s.DeleteClient(ctx, "c1"))
	wantChanges(t, ctx, s, "DeleteClient", seq, clientChange("c1"))
	sameFederated(t, "ListAllFederatedCredentials after DeleteClient(c1)",
		get[[]storage.FederatedCredential](t, "ListAllFederatedCredentials")(s.ListAllFederatedCredentials(ctx)), other)
	must(t, "CreateClient again", s.CreateClient(ctx, newClient("c1", at(5))))
	sameFederated(t, "ListFederatedCredentials of the recreated client",
		get[[]storage.FederatedCredential](t, "ListFederatedCredentials")(s.ListFederatedCredentials(ctx, "c1")))
}
