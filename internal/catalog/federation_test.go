package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// TestFederatedCredentials: a client's federated credentials are in the
// snapshot after a load and follow the change feed (added, removed), so
// that the token endpoint reads them without the database.
func TestFederatedCredentials(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	for _, id := range []string{"a", "b"} {
		if err := st.CreateClient(ctx, client(id)); err != nil {
			t.Fatal(err)
		}
	}
	fc := func(id, clientID string) storage.FederatedCredential {
		return storage.FederatedCredential{ID: id, ClientID: clientID, Issuer: "https://issuer.example.com",
			Subject: "system:serviceaccount:ns:" + id, Claims: map[string]string{"kubernetes.io/namespace": "ns"}, CreatedAt: time.Now()}
	}
	for _, f := range []storage.FederatedCredential{fc("f1", "a"), fc("f2", "a"), fc("f3", "b")} {
		if err := st.AddFederatedCredential(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	cat := catalog.New(st, nil, nil)
	if err := cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ids := func(c *catalog.Client) []string {
		var out []string
		for _, f := range c.Federated {
			out = append(out, f.ID)
		}
		return out
	}
	a, _ := cat.Snapshot().Client("a")
	b, _ := cat.Snapshot().Client("b")
	if got := ids(a); len(got) != 2 || got[0] != "f1" || got[1] != "f2" || a.Federated[0].Claims["kubernetes.io/namespace"] != "ns" {
		t.Fatalf("client a after load: %v", a.Federated)
	}
	if got := ids(b); len(got) != 1 || got[0] != "f3" {
		t.Fatalf("client b after load: %v", got)
	}
	if err := st.DeleteFederatedCredential(ctx, "a", "f1"); err != nil {
		t.Fatal(err)
	}
	if err := st.AddFederatedCredential(ctx, fc("f4", "b")); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ = cat.Snapshot().Client("a")
	b, _ = cat.Snapshot().Client("b")
	if got := ids(a); len(got) != 1 || got[0] != "f2" {
		t.Errorf("client a after sync: %v", got)
	}
	if got := ids(b); len(got) != 2 || got[1] != "f4" {
		t.Errorf("client b after sync: %v", got)
	}
}
