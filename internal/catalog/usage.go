package catalog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// UsageStore is where Usage writes last-use times.
type UsageStore interface {
	TouchSecrets(ctx context.Context, lastUsed map[string]time.Time) error
}

// Usage batches the last_used_at times of client secrets (DESIGN §3): the hot
// path records a use in memory; Run writes the batch every interval.
type Usage struct {
	store UsageStore
	log   *slog.Logger

	mu      sync.Mutex
	pending map[string]time.Time

	flushFailed func(error) // set before Run; nil for none
}

// OnFlushFailure sets f to be called on every failed write of Run (a
// storage error counter); call it before Run starts.
func (u *Usage) OnFlushFailure(f func(error)) { u.flushFailed = f }

// NewUsage returns a Usage writing to store.
func NewUsage(store UsageStore, log *slog.Logger) *Usage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Usage{store: store, log: log, pending: map[string]time.Time{}}
}

// Record notes that the secret was used at t.
func (u *Usage) Record(secretID string, t time.Time) {
	u.mu.Lock()
	if prev, ok := u.pending[secretID]; !ok || t.After(prev) {
		u.pending[secretID] = t
	}
	u.mu.Unlock()
}

// Flush writes the pending times. On failure they are kept for the next try
// unless a newer use replaced them.
func (u *Usage) Flush(ctx context.Context) error {
	_, err := u.flush(ctx)
	return err
}

// flush is Flush that also reports whether it wrote anything.
func (u *Usage) flush(ctx context.Context) (wrote bool, err error) {
	u.mu.Lock()
	batch := u.pending
	u.pending = make(map[string]time.Time, len(batch))
	u.mu.Unlock()
	if len(batch) == 0 {
		return false, nil
	}
	if err := u.store.TouchSecrets(ctx, batch); err != nil {
		u.mu.Lock()
		for id, t := range batch {
			if prev, ok := u.pending[id]; !ok || t.After(prev) {
				u.pending[id] = t
			}
		}
		u.mu.Unlock()
		return false, err
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
			if err := u.Flush(fctx); err != nil {
				u.log.Warn("could not record secret last use at shutdown", "error", err)
			}
			cancel()
			return
		case <-t.C:
			fctx, cancel := context.WithTimeout(ctx, flushTimeout)
			wrote, err := u.flush(fctx)
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
