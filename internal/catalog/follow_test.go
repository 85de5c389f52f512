package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// notifyingStore is a store that announces changes when the test says so.
type notifyingStore struct {
	*countingStore
	wake chan struct{}
}

func (n *notifyingStore) Notifications(ctx context.Context) <-chan struct{} { return n.wake }

// waitFor polls cond until it holds, failing after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	begin := time.Now()
	for !cond() {
		if time.Since(begin) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(begin)
}

func TestFollowWakesOnNotification(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		notify   func(chan struct{})
		within   time.Duration
	}{
		// The ticker alone would take an hour: the notification syncs.
		{"a notification syncs at once", time.Hour, func(ch chan struct{}) { ch <- struct{}{} }, 5 * time.Second},
		// A closed channel leaves the ticker as the fallback.
		{"a closed channel falls back to polling", 20 * time.Millisecond, func(ch chan struct{}) { close(ch) }, 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			store := &notifyingStore{countingStore: newStore(t), wake: make(chan struct{})}
			c := catalog.New(store, nil, nil)
			if err := c.Load(ctx); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				c.Follow(ctx, tc.interval, nil)
				close(done)
			}()
			defer func() { cancel(); <-done }()

			if err := store.CreateClient(ctx, client("c1")); err != nil {
				t.Fatal(err)
			}
			go tc.notify(store.wake)
			waitFor(t, tc.within, "the new client in the catalog", func() bool {
				_, ok := c.Snapshot().Client("c1")
				return ok
			})
		})
	}
}

var _ catalog.Notifier = (*notifyingStore)(nil)

// TestSyncNowHandsKeyChangesToFollow: a write's SyncNow applies a signing
// key change before the follower's tick; the follower's after function must
// still hear of it (it reloads the signing keys), or the key would be
// unknown to the instance until the next key change.
func TestSyncNowHandsKeyChangesToFollow(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	store := newStore(t)
	c := catalog.New(store, nil, nil)
	if err := c.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveKeys(ctx, []storage.SigningKey{{KID: "k", Alg: "ES256", State: storage.KeyNext, PrivateKey: []byte{1}, PublicJWK: []byte("{}"), CreatedAt: time.Now()}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.SyncNow(ctx); err != nil {
		t.Fatal(err)
	}
	heard := make(chan bool, 16)
	done := make(chan struct{})
	go func() {
		c.Follow(ctx, 10*time.Millisecond, func(_ context.Context, keysChanged bool) error {
			heard <- keysChanged
			return nil
		})
		close(done)
	}()
	defer func() { cancel(); <-done }()
	select {
	case changed := <-heard:
		if !changed {
			t.Error("the follower's first sync after SyncNow applied a key change was told no key changed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the follower did not sync")
	}
}
