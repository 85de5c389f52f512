package catalog_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// recorder is a Follower that records what it was given, and fails Apply
// while fail is set.
type recorder struct {
	mu      sync.Mutex
	loads   int
	applied []string
	fail    bool
}

func (r *recorder) Load(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loads++
	return nil
}

func (r *recorder) Apply(_ context.Context, ids []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("apply failed")
	}
	r.applied = append(r.applied, ids...)
	return nil
}

// TestTrack: a follower is loaded with the catalog and handed the IDs of
// its entity's changes, and only those; a failed Apply fails the sync,
// leaves the snapshot where it was and is handed the same changes again.
func TestTrack(t *testing.T) {
	ctx := t.Context()
	store := newStore(t)
	c := catalog.New(store, nil, nil)
	rec := &recorder{}
	c.Track(storage.EntityRevocation, rec)
	if err := c.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if rec.loads != 1 {
		t.Fatalf("loads %d, want 1", rec.loads)
	}
	at := time.Now()
	revoke := func(v string) {
		if err := store.Revoke(ctx, storage.Revocation{Kind: storage.RevokeToken, Value: v, Before: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	revoke("j1")
	if err := store.CreateClient(ctx, client("c1")); err != nil {
		t.Fatal(err)
	}
	rec.fail = true
	before := c.Snapshot().Seq
	if _, err := c.Sync(ctx); err == nil {
		t.Fatal("a failed Apply did not fail the sync")
	}
	if c.Snapshot().Seq != before {
		t.Error("the snapshot moved past changes its follower did not apply")
	}
	rec.fail = false
	revoke("j2")
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if want := []string{"jti:j1", "jti:j2"}; !slices.Equal(rec.applied, want) {
		t.Errorf("applied %v, want %v", rec.applied, want)
	}
	if _, ok := c.Snapshot().Client("c1"); !ok {
		t.Error("the client change was not applied")
	}
}
