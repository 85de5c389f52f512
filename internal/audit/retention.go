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

// RetentionStore is the part of storage.Storage the cleanup needs.
type RetentionStore interface {
	DeleteAuditBefore(ctx context.Context, t time.Time) (int64, error)
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

var _ RetentionStore = storage.Storage(nil)

// Retention deletes audit events older than Keep, under RetentionLease.
type Retention struct {
	Store RetentionStore
	// Keep is how long events are kept; it must be positive (a retention of
	// zero, keep forever, runs no cleanup at all).
	Keep time.Duration
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
	cutoff := now.Add(-c.Keep)
	n, err := c.Store.DeleteAuditBefore(ctx, cutoff)
	if err != nil {
		return 0, true, err
	}
	if n > 0 {
		c.logger().Info("audit events past retention deleted", "count", n, "before", cutoff.UTC().Format(time.RFC3339))
		if c.Recorder != nil {
			_ = c.Recorder.Audit(ctx, storage.AuditEvent{
				Time: now, Actor: storage.ActorSystem, Action: storage.AuditRetentionCleanup, Target: "audit_events",
				Outcome: storage.OutcomeSuccess,
				Details: map[string]string{"deleted": strconv.FormatInt(n, 10), "before": cutoff.UTC().Format(time.RFC3339)},
			})
		}
	}
	return n, true, nil
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
