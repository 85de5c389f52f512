package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
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
