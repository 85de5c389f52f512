package catalog_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// records is a slog handler that keeps the messages it is given.
type records struct {
	mu   sync.Mutex
	msgs []string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, rec.Message)
	r.mu.Unlock()
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// silentStore is a store whose change feed stops answering while hang is
// set, as a database behind a partition does: a call returns only when its
// context is done.
type silentStore struct {
	*countingStore
	hang  atomic.Bool
	calls atomic.Int64 // ChangesSince calls while hanging
}

func (s *silentStore) ChangesSince(ctx context.Context, seq int64, limit int) ([]storage.Change, error) {
	if s.hang.Load() {
		s.calls.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.countingStore.ChangesSince(ctx, seq, limit)
}

// TestSyncGivesUpOnASilentStore: a store call that does not answer fails
// the sync after the call timeout instead of holding it, and the next sync
// after the store answers again applies what changed meanwhile.
func TestSyncGivesUpOnASilentStore(t *testing.T) {
	ctx := t.Context()
	store := &silentStore{countingStore: newStore(t)}
	c := catalog.New(store, nil, nil)
	c.SetCallTimeout(20 * time.Millisecond)
	if err := c.Load(ctx); err != nil {
		t.Fatal(err)
	}
	store.hang.Store(true)
	if err := store.CreateClient(ctx, client("c1")); err != nil {
		t.Fatal(err)
	}
	// ctx has no deadline: only the call timeout can end the call.
	errc := make(chan error, 1)
	go func() {
		_, err := c.Sync(ctx)
		errc <- err
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Sync against a silent store: %v, want a deadline exceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sync against a silent store did not return: it waits for an answer that never comes")
	}
	if _, ok := c.Snapshot().Client("c1"); ok {
		t.Fatal("the catalog has a client the store never answered with")
	}
	store.hang.Store(false)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Snapshot().Client("c1"); !ok {
		t.Fatal("the client created during the silence is missing after the store answered again")
	}
}

// TestFollowLogsOncePerOutage: while the store does not answer, Follow
// keeps trying on every tick, logs the failure once, and logs once that it
// recovered; the after function runs under the call timeout too.
func TestFollowLogsOncePerOutage(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	store := &silentStore{countingStore: newStore(t)}
	log := &records{}
	c := catalog.New(store, slog.New(log), nil)
	c.SetCallTimeout(10 * time.Millisecond)
	var hooked atomic.Int64 // every failed sync, not once per outage
	c.OnSyncFailure(func(error) { hooked.Add(1) })
	if err := c.Load(ctx); err != nil {
		t.Fatal(err)
	}
	var afterCalls, afterUnbounded atomic.Int64
	done := make(chan struct{})
	go func() {
		c.Follow(ctx, 5*time.Millisecond, func(ctx context.Context, _ bool) error {
			if _, ok := ctx.Deadline(); !ok {
				afterUnbounded.Add(1)
			}
			afterCalls.Add(1)
			return nil
		})
		close(done)
	}()
	defer func() { cancel(); <-done }()

	store.hang.Store(true)
	waitFor(t, 10*time.Second, "five syncs against the silent store", func() bool { return store.calls.Load() >= 5 })
	waitFor(t, 10*time.Second, "five failed syncs counted", func() bool { return hooked.Load() >= 5 })
	if err := store.CreateClient(ctx, client("c1")); err != nil {
		t.Fatal(err)
	}
	store.hang.Store(false)
	waitFor(t, 10*time.Second, "the client in the catalog after the outage", func() bool {
		_, ok := c.Snapshot().Client("c1")
		return ok
	})
	waitFor(t, 10*time.Second, "the recovery logged", func() bool { return log.count("catalog sync recovered") > 0 })
	if n := log.count("catalog sync failing; serving the last good catalog"); n != 1 {
		t.Errorf("logged the failing sync %d times in one outage, want once", n)
	}
	if n := log.count("catalog sync recovered"); n != 1 {
		t.Errorf("logged the recovery %d times, want once", n)
	}
	// The after function runs once Sync has published, so it may still be
	// to come when the client is seen: wait for one call after the outage.
	calls := afterCalls.Load()
	waitFor(t, 10*time.Second, "Follow's after function run after the outage", func() bool { return afterCalls.Load() > calls })
	if n := afterUnbounded.Load(); n != 0 {
		t.Errorf("Follow ran its after function without a deadline %d times", n)
	}
}

// downStore fails TouchSecrets while down is set and counts the failures.
type downStore struct {
	down     atomic.Bool
	failures atomic.Int64
	mu       sync.Mutex
	got      map[string]time.Time
}

func (d *downStore) TouchSecrets(ctx context.Context, m map[string]time.Time) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("TouchSecrets without a deadline")
	}
	if d.down.Load() {
		d.failures.Add(1)
		return errors.New("database down")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, v := range m {
		d.got[k] = v
	}
	return nil
}

func (d *downStore) written(id string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.got[id]
}

// TestUsageRunLogsOncePerOutage: Run keeps a failed batch, retries it on
// every tick under a deadline, logs the failure once and the recovery once,
// and then writes what was used during the outage.
func TestUsageRunLogsOncePerOutage(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	store := &downStore{got: map[string]time.Time{}}
	store.down.Store(true)
	log := &records{}
	u := catalog.NewUsage(store, slog.New(log))
	var hooked atomic.Int64 // every failed flush, not once per outage
	u.OnFlushFailure(func(error) { hooked.Add(1) })
	done := make(chan struct{})
	go func() {
		u.Run(ctx, 5*time.Millisecond)
		close(done)
	}()
	defer func() { cancel(); <-done }()

	used := time.Unix(1000, 0)
	u.Record("s1", used)
	waitFor(t, 10*time.Second, "five failed flushes", func() bool { return store.failures.Load() >= 5 })
	waitFor(t, 10*time.Second, "five failed flushes counted", func() bool { return hooked.Load() >= 5 })
	store.down.Store(false)
	waitFor(t, 10*time.Second, "the use written after the outage", func() bool { return store.written("s1").Equal(used) })
	waitFor(t, 10*time.Second, "the recovery logged", func() bool { return log.count("recording secret last use again") > 0 })
	if n := log.count("could not record secret last use; will retry"); n != 1 {
		t.Errorf("logged the failing flush %d times in one outage, want once", n)
	}
	if n := log.count("recording secret last use again"); n != 1 {
		t.Errorf("logged the recovery %d times, want once", n)
	}
}
