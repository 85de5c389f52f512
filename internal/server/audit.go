package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/throttle"
)

// retentionInterval is how often the audit retention cleanup runs.
const retentionInterval = time.Hour

// newAuditRecorder returns the server's audit trail: queued token events,
// admin changes and key rotations, counted into the metrics m returns once
// the server has them.
func newAuditRecorder(store storage.Storage, log *slog.Logger, lb audit.LineBatcher, now func() time.Time, m func() *metrics.Metrics) *audit.Recorder {
	return audit.New(audit.Config{
		Store: store, Logger: log, LogBatch: lb, Now: now,
		Dropped: func(n int) {
			if mm := m(); mm != nil {
				mm.Audit.Dropped(n)
			}
		},
		FlushFailed: func(error) {
			if mm := m(); mm != nil {
				mm.StorageError(metrics.OpAuditFlush)
			}
		},
	})
}

// keysRotated records a rotation by the actor in ctx (a management API
// client) or, without one, by the system (the rotation schedule).
func keysRotated(rec *audit.Recorder) func(ctx context.Context, changed []storage.SigningKey) {
	return func(ctx context.Context, changed []storage.SigningKey) {
		actor := admin.Actor(ctx)
		if actor == "" {
			actor = storage.ActorSystem
		}
		rec.KeysRotated(ctx, actor, changed)
	}
}

// startAudit runs the audit writer and, when a retention is configured, the
// cleanup (one instance at a time, under audit.RetentionLease): the
// per-token events after --audit-token-retention, the rest and the hourly
// token counts after --audit-retention.
func (s *Server) startAudit(ctx context.Context, goFn func(func())) {
	goFn(func() { s.audit.Run(ctx, s.opts.AuditFlushInterval) })
	if s.cfg.AuditRetention > 0 || s.cfg.AuditTokenRetention > 0 {
		r := &audit.Retention{Store: s.store, Keep: s.cfg.AuditRetention, TokenKeep: s.cfg.AuditTokenRetention,
			Recorder: s.audit, Logger: s.log, Now: s.opts.Now}
		goFn(func() { r.Run(ctx, retentionInterval) })
	}
}

// authThrottle is the brute-force protection of --auth-failure-limit and
// --auth-failure-window (nil, none, when the limit is 0).
func (s *Server) authThrottle() *throttle.Auth {
	if s.cfg.AuthFailureLimit <= 0 {
		return nil
	}
	return throttle.NewAuth(throttle.AuthConfig{Limit: s.cfg.AuthFailureLimit, Window: s.cfg.AuthFailureWindow})
}
