package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// RetentionLease is the lease (storage.Storage.AcquireLease) an instance
// holds while it deletes expired audit events: of many instances on one
// database one does it at a time.
const RetentionLease = "audit-retention"

// DefaultRetention is how long audit events are kept unless configured.
const DefaultRetention = 90 * 24 * time.Hour

// DefaultTokenRetention is how long the per-token events (token.issued,
// auth.failed: one per request of the token endpoint) are kept unless
// configured; their hourly counts are kept for the Retention.
const DefaultTokenRetention = 7 * 24 * time.Hour

// RetentionStore is the part of storage.Storage the cleanup needs.
type RetentionStore interface {
	DeleteAuditBefore(ctx context.Context, t time.Time) (int64, error)
	DeleteTokenEventsBefore(ctx context.Context, t time.Time) (int64, error)
	DeleteTokenCountsBefore(ctx context.Context, t time.Time) (int64, error)
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

var _ RetentionStore = storage.Storage(nil)

// Retention deletes audit events and hourly token counts older than Keep,
// and the per-token events older than TokenKeep, under RetentionLease.
type Retention struct {
	Store RetentionStore
	// Keep is how long events and token counts are kept; zero keeps them
	// forever.
	Keep time.Duration
	// TokenKeep is how long the events of storage.TokenActions are kept;
	// zero keeps them as long as the others.
	TokenKeep time.Duration
	// Recorder, if set, records each cleanup that deleted something
	// (audit.retention, actor system).
	Recorder *Recorder
	Logger   *slog.Logger
	Now      func() time.Time
	// Holder names this instance in the lease; default host, pid and random hex.
	Holder string
}

// leaseTTL bounds how long a crashed cleaner blocks the others.
const leaseTTL = 10 * time.Minute

// Clean deletes the expired events once if this instance gets the lease,
// and reports how many it deleted and whether it held the lease.
func (c *Retention) Clean(ctx context.Context) (deleted int64, ran bool, err error) {
	now := c.now()
	holder := c.holder()
	ok, err := c.Store.AcquireLease(ctx, RetentionLease, holder, leaseTTL, now)
	if err != nil || !ok {
		return 0, false, err
	}
	defer func() { _ = c.Store.ReleaseLease(context.WithoutCancel(ctx), RetentionLease, holder) }()
	if c.Keep > 0 {
		cutoff := now.Add(-c.Keep)
		n, err := c.Store.DeleteAuditBefore(ctx, cutoff)
		if err != nil {
			return deleted, true, err
		}
		deleted += n
		c.cleaned(ctx, now, "audit_events", n, cutoff)
		if _, err := c.Store.DeleteTokenCountsBefore(ctx, cutoff); err != nil {
			return deleted, true, err
		}
	}
	if c.TokenKeep > 0 && (c.Keep == 0 || c.TokenKeep < c.Keep) {
		cutoff := now.Add(-c.TokenKeep)
		n, err := c.Store.DeleteTokenEventsBefore(ctx, cutoff)
		if err != nil {
			return deleted, true, err
		}
		deleted += n
		c.cleaned(ctx, now, "token_events", n, cutoff)
	}
	return deleted, true, nil
}

// cleaned logs and records a cleanup of what that deleted n events older
// than cutoff, if it deleted any.
func (c *Retention) cleaned(ctx context.Context, now time.Time, what string, n int64, cutoff time.Time) {
	if n == 0 {
		return
	}
	c.logger().Info("audit events past retention deleted", "what", what, "count", n, "before", cutoff.UTC().Format(time.RFC3339))
	if c.Recorder != nil {
		_ = c.Recorder.Audit(ctx, storage.AuditEvent{
			Time: now, Actor: storage.ActorSystem, Action: storage.AuditRetentionCleanup, Target: what,
			Outcome: storage.OutcomeSuccess,
			Details: map[string]string{"deleted": strconv.FormatInt(n, 10), "before": cutoff.UTC().Format(time.RFC3339)},
		})
	}
}

// Run cleans at start and then every interval until ctx is done; failures
// are logged.
func (c *Retention) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := c.Clean(ctx); err != nil && ctx.Err() == nil {
			c.logger().Warn("audit retention cleanup failed; will retry", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Retention) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Retention) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Retention) holder() string {
	if c.Holder == "" {
		host, _ := os.Hostname()
		var b [6]byte
		_, _ = rand.Read(b[:])
		c.Holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	return c.Holder
}
