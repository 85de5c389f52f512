package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

// countingStore wraps a real store and counts the reads the catalog makes.
type countingStore struct {
	*sqlite.Store
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingStore) count(name string) {
	c.mu.Lock()
	c.calls[name]++
	c.mu.Unlock()
}

func (c *countingStore) GetClient(ctx context.Context, id string) (storage.Client, error) {
	c.count("GetClient")
	return c.Store.GetClient(ctx, id)
}

func (c *countingStore) ListClients(ctx context.Context) ([]storage.Client, error) {
	c.count("ListClients")
	return c.Store.ListClients(ctx)
}

func (c *countingStore) GetAPI(ctx context.Context, id string) (storage.API, error) {
	c.count("GetAPI")
	return c.Store.GetAPI(ctx, id)
}

func (c *countingStore) ListSecrets(ctx context.Context, id string) ([]storage.Secret, error) {
	c.count("ListSecrets")
	return c.Store.ListSecrets(ctx, id)
}

func (c *countingStore) ListAllSecrets(ctx context.Context) ([]storage.Secret, error) {
	c.count("ListAllSecrets")
	return c.Store.ListAllSecrets(ctx)
}

func (c *countingStore) ListGrants(ctx context.Context, f storage.GrantFilter) ([]storage.Grant, error) {
	c.count("ListGrants")
	return c.Store.ListGrants(ctx, f)
}

func newStore(t *testing.T) *countingStore {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &countingStore{Store: s, calls: map[string]int{}}
}

func client(id string) storage.Client {
	now := time.Now().UTC()
	return storage.Client{ClientID: id, Name: id, AppType: storage.AppTypeNonInteractive, GrantTypes: []string{"client_credentials"}, CreatedAt: now, UpdatedAt: now}
}

// TestSyncIsIncremental: after the initial load, a change reloads only the
// changed client, and unchanged entries are shared with the old snapshot.
func TestSyncIsIncremental(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	for _, id := range []string{"a", "b", "c"} {
		if err := st.CreateClient(ctx, client(id)); err != nil {
			t.Fatal(err)
		}
	}
	api := storage.API{Identifier: "https://api", Name: "api", TokenLifetime: time.Hour, SigningAlg: "RS256", TokenDialect: storage.DialectRFC9068, CreatedAt: time.Now()}
	if err := st.CreateAPI(ctx, api); err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(st, nil, nil)
	if err := cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	before := cat.Snapshot()
	bBefore, _ := before.Client("b")
	st.calls = map[string]int{}

	if err := st.SetClientDisabled(ctx, "a", true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateGrant(ctx, storage.Grant{ID: "g1", ClientID: "a", Audience: "https://api", Scope: []string{}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteClient(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if st.calls["ListClients"] != 0 || st.calls["GetClient"] != 2 || st.calls["GetAPI"] != 0 {
		t.Fatalf("sync read %v; want one GetClient per changed client and no full listing", st.calls)
	}
	after := cat.Snapshot()
	if after == before || after.Seq <= before.Seq {
		t.Fatal("no new snapshot")
	}
	a, _ := after.Client("a")
	if !a.Disabled || len(a.Grants) != 1 {
		t.Fatalf("client a not updated: %+v", a)
	}
	if _, ok := after.Client("c"); ok {
		t.Fatal("deleted client still in the catalog")
	}
	if b, _ := after.Client("b"); b != bBefore {
		t.Fatal("an unchanged client was reloaded")
	}
	if a, _ := before.Client("a"); a.Disabled {
		t.Fatal("the old snapshot was mutated")
	}
	// Nothing new: no reads beyond the feed, same snapshot.
	st.calls = map[string]int{}
	if _, err := cat.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if cat.Snapshot() != after || len(st.calls) != 0 {
		t.Fatalf("idle sync changed the snapshot or read %v", st.calls)
	}
}

// TestLoadIsBulk: the first load reads the catalog in a fixed number of
// queries whatever the number of clients, and puts every client's secrets
// and grants with that client.
func TestLoadIsBulk(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	api := storage.API{Identifier: "https://api", Name: "api", TokenLifetime: time.Hour, SigningAlg: "RS256", TokenDialect: storage.DialectRFC9068, CreatedAt: time.Now()}
	if err := st.CreateAPI(ctx, api); err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		id := fmt.Sprintf("c%02d", i)
		var secrets []storage.Secret
		for j := range i % 3 { // 0, 1 or 2 secrets
			secrets = append(secrets, storage.Secret{ID: fmt.Sprintf("%s-s%d", id, j), HashAlg: storage.SecretHashSHA256, Hash: []byte{byte(i), byte(j)}, CreatedAt: time.Now()})
		}
		if err := st.CreateClient(ctx, client(id), secrets...); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := st.CreateGrant(ctx, storage.Grant{ID: id + "-g", ClientID: id, Audience: api.Identifier, Scope: []string{"read"}, CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cat := catalog.New(st, nil, nil)
	if err := cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"ListClients": 1, "ListAllSecrets": 1, "ListGrants": 1}
	if !maps.Equal(st.calls, want) {
		t.Fatalf("load read %v; want %v", st.calls, want)
	}
	snap := cat.Snapshot()
	if got, _ := snap.Len(); got != n {
		t.Fatalf("%d clients loaded, want %d", got, n)
	}
	for i := range n {
		id := fmt.Sprintf("c%02d", i)
		c, ok := snap.Client(id)
		if !ok {
			t.Fatalf("client %s missing", id)
		}
		if len(c.Secrets) != i%3 {
			t.Errorf("client %s: %d secrets, want %d", id, len(c.Secrets), i%3)
		}
		for j, sec := range c.Secrets {
			if sec.ClientID != id || sec.ID != fmt.Sprintf("%s-s%d", id, j) || !bytes.Equal(sec.Hash, []byte{byte(i), byte(j)}) {
				t.Errorf("client %s: secret %d is %+v", id, j, sec)
			}
		}
		if c.ClientID != id || c.Name != id || c.AppType != storage.AppTypeNonInteractive {
			t.Errorf("client %s: record %+v", id, c.Client)
		}
		g, granted := c.Grant(api.Identifier)
		if granted && (g.ID != id+"-g" || g.ClientID != id || !slices.Equal(g.Scope, []string{"read"})) {
			t.Errorf("client %s: grant %+v", id, g)
		}
		if granted != (i%2 == 0) || len(c.Grants) > 1 {
			t.Errorf("client %s: grants %v", id, c.Grants)
		}
	}
}

func TestSyncReportsKeyChanges(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	cat := catalog.New(st, nil, nil)
	if err := cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveKeys(ctx, []storage.SigningKey{{KID: "k", Alg: "ES256", State: storage.KeyNext, PrivateKey: []byte{1}, PublicJWK: []byte("{}"), CreatedAt: time.Now()}}, nil); err != nil {
		t.Fatal(err)
	}
	changed, err := cat.Sync(ctx)
	if err != nil || !changed {
		t.Fatalf("key change not reported: %v %v", changed, err)
	}
	if changed, _ := cat.Sync(ctx); changed {
		t.Fatal("key change reported twice")
	}
}

// flakyStore fails TouchSecrets while fail is set.
type flakyStore struct {
	mu   sync.Mutex
	fail bool
	got  map[string]time.Time
}

func (f *flakyStore) TouchSecrets(_ context.Context, m map[string]time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("database down")
	}
	for k, v := range m {
		f.got[k] = v
	}
	return nil
}

func TestUsageBatchesAndRetries(t *testing.T) {
	ctx := context.Background()
	st := &flakyStore{fail: true, got: map[string]time.Time{}}
	u := catalog.NewUsage(st, nil)
	t0 := time.Unix(1000, 0)
	u.Record("s1", t0)
	u.Record("s1", t0.Add(-time.Second)) // older: ignored
	u.Record("s2", t0)
	if err := u.Flush(ctx); err == nil {
		t.Fatal("flush against a failing store succeeded")
	}
	u.Record("s2", t0.Add(time.Second)) // newer than the failed batch
	st.fail = false
	if err := u.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if !st.got["s1"].Equal(t0) || !st.got["s2"].Equal(t0.Add(time.Second)) || len(st.got) != 2 {
		t.Fatalf("written %v", st.got)
	}
	st.got = map[string]time.Time{}
	if err := u.Flush(ctx); err != nil || len(st.got) != 0 {
		t.Fatalf("second flush rewrote %v", st.got)
	}
}

// TestReloadWhenPrunedPast: two instances follow one feed; B stops (down
// longer than the pruning waits for it) while A keeps reading and the feed
// is pruned behind A. B's next sync finds the changes it missed gone: it
// loads everything again and has them (and reports a key change, so that
// the keys are read again too), where reading on from its old position
// would have missed them for good.
func TestReloadWhenPrunedPast(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	now := time.Now()
	a, b := catalog.New(st, nil, func() time.Time { return now }), catalog.New(st, nil, func() time.Time { return now })
	for i, c := range []*catalog.Catalog{a, b} {
		if err := c.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Mark(ctx, st, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"x", "y", "z"} {
		if err := st.CreateClient(ctx, client(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteClient(ctx, "y"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if err := a.Mark(ctx, st, "0"); err != nil {
		t.Fatal(err)
	}
	if _, deleted, err := st.PruneChanges(ctx, now.Add(-time.Minute)); err != nil || deleted != 3 {
		t.Fatalf("PruneChanges: %d deleted, %v; want 3 (all but the newest)", deleted, err)
	}
	keys, err := b.Sync(ctx)
	if err != nil || !keys {
		t.Fatalf("B's sync after the pruning: keys changed %v, %v; want a reload that reports keys", keys, err)
	}
	snap := b.Snapshot()
	_, x := snap.Client("x")
	_, y := snap.Client("y")
	_, z := snap.Client("z")
	if !x || y || !z {
		t.Errorf("B after the reload has x %v, y %v, z %v; want x and z", x, y, z)
	}
	if snap.Seq != a.Snapshot().Seq {
		t.Errorf("B at %d after the reload, A at %d", snap.Seq, a.Snapshot().Seq)
	}
}
