package catalog

import (
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"
)

// UsageStore is where Usage writes last-use times.
type UsageStore interface {
	TouchSecrets(ctx context.Context, lastUsed map[string]time.Time) error
}

// DefaultUsageResolution is, within a factor of two, how far behind a
// secret's stored last use may be: Run writes a secret's time again only
// once it has moved on by the secret's own period, between one and two
// resolutions (a hash of its ID, so that secrets first used together are not
// all due again at the same tick). With 100,000 clients in use that is one
// row each every one to two minutes instead of every flush, spread evenly.
const DefaultUsageResolution = time.Minute

// Usage batches the last_used_at times of client secrets (ARCHITECTURE.md): the hot
// path records a use in memory; Run writes the batch every interval. A
// secret's first use is written at the next tick; after that Run writes it
// again once its last use is its period (one to two resolutions) past the
// time written, so the stored time is never more than two resolutions (and
// an interval) behind the real one. Flush, and Run at shutdown, write every
// newer time.
type Usage struct {
	store      UsageStore
	log        *slog.Logger
	resolution time.Duration

	mu      sync.Mutex
	pending map[string]time.Time

	// state is the flusher's own (Flush and Run are not run concurrently):
	// per secret, the time last written and the newest not yet written.
	state  map[string]useState
	period func(secretID string) int64 // microseconds, in [resolution, 2×resolution)

	flushFailed func(error) // set before Run; nil for none
}

// useState is what the flusher knows of one secret, in Unix microseconds
// (0: none), and its period.
type useState struct{ written, newest, period int64 }

// OnFlushFailure sets f to be called on every failed write of Run (a
// storage error counter); call it before Run starts.
func (u *Usage) OnFlushFailure(f func(error)) { u.flushFailed = f }

// NewUsage returns a Usage writing to store.
func NewUsage(store UsageStore, log *slog.Logger) *Usage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u := &Usage{store: store, log: log, resolution: DefaultUsageResolution,
		pending: map[string]time.Time{}, state: map[string]useState{}}
	seed := maphash.MakeSeed()
	u.period = func(id string) int64 {
		res := u.resolution.Microseconds()
		if res <= 0 {
			return 0
		}
		return res + int64(maphash.String(seed, id)%uint64(res))
	}
	return u
}

// SetResolution replaces DefaultUsageResolution (0: write every newer time
// at every tick); call it before Run starts.
func (u *Usage) SetResolution(d time.Duration) { u.resolution = max(d, 0) }

// Record notes that the secret was used at t.
func (u *Usage) Record(secretID string, t time.Time) {
	u.mu.Lock()
	if prev, ok := u.pending[secretID]; !ok || t.After(prev) {
		u.pending[secretID] = t
	}
	u.mu.Unlock()
}

// Flush writes every time newer than the one written, whatever the
// resolution. On failure they are kept for the next try.
func (u *Usage) Flush(ctx context.Context) error {
	_, err := u.flush(ctx, true)
	return err
}

// flush takes the recorded uses and writes those that are due: all of them
// newer than the written time when all, else those a resolution past it. It
// reports whether it wrote anything. The hot path's lock is held only to
// swap the pending map.
func (u *Usage) flush(ctx context.Context, all bool) (wrote bool, err error) {
	u.mu.Lock()
	var recorded map[string]time.Time // nil when nothing is pending: never read the live map unlocked
	if len(u.pending) > 0 {
		recorded = u.pending
		u.pending = make(map[string]time.Time, len(recorded))
	}
	u.mu.Unlock()
	var latest int64
	for id, t := range recorded {
		us := t.UnixMicro()
		st, ok := u.state[id]
		if !ok {
			st.period = u.period(id)
		}
		st.newest = max(st.newest, us)
		u.state[id] = st
		latest = max(latest, us)
	}
	batch := map[string]time.Time{}
	for id, st := range u.state {
		switch {
		case st.newest > st.written && (all || st.written == 0 || st.newest-st.written >= st.period):
			batch[id] = time.UnixMicro(st.newest)
		case st.newest <= st.written && latest-st.written > st.period:
			// Any later use will be due at once: forget the secret.
			delete(u.state, id)
		}
	}
	if len(batch) == 0 {
		return false, nil
	}
	if err := u.store.TouchSecrets(ctx, batch); err != nil {
		return false, err // state unchanged: the batch is due again next time
	}
	for id, t := range batch {
		st := u.state[id]
		st.written = t.UnixMicro()
		u.state[id] = st
	}
	return true, nil
}

// flushTimeout bounds each write of a batch, so that a database that stops
// answering cannot hold the batch (and the shutdown) forever.
const flushTimeout = 5 * time.Second

// Run flushes every interval until ctx is done, then flushes once more with
// a short deadline so that a graceful shutdown loses nothing. Each flush may
// take at most five seconds; a failed batch is kept for the next tick, and
// failures are logged once per outage, not once per tick.
func (u *Usage) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
			if _, err := u.flush(fctx, true); err != nil {
				u.log.Warn("could not record secret last use at shutdown", "error", err)
			}
			cancel()
			return
		case <-t.C:
			fctx, cancel := context.WithTimeout(ctx, flushTimeout)
			wrote, err := u.flush(fctx, false)
			cancel()
			if err != nil && ctx.Err() == nil && u.flushFailed != nil {
				u.flushFailed(err)
			}
			switch {
			case err != nil && ctx.Err() == nil && !failing:
				failing = true
				u.log.Warn("could not record secret last use; will retry", "error", err)
			case wrote && failing:
				failing = false
				u.log.Info("recording secret last use again")
			}
		}
	}
}
