package server

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// rotationScheduler returns the scheduler that rotates the signing keys every
// cfg.KeyRotationPeriod (ARCHITECTURE.md: one instance at a time, under the
// database lock), or nil when the period is 0. The outgoing key stays
// published for the longest token lifetime of any API, read from the store
// under the rotation lease, plus admin.RotationMargin, as with gatehouse key
// rotate.
func (s *Server) rotationScheduler() (*keys.Scheduler, error) {
	if s.cfg.KeyRotationPeriod == 0 {
		return nil, nil
	}
	sched, err := keys.NewScheduler(keys.ScheduleConfig{
		Keys:   s.keys,
		Leases: s.store,
		Period: s.cfg.KeyRotationPeriod,
		MaxTokenLifetime: func(ctx context.Context) (time.Duration, error) {
			apis, err := s.store.ListAPIs(ctx)
			if err != nil {
				return 0, fmt.Errorf("list apis: %w", err)
			}
			return admin.RotationMaxTokenLifetime(apis), nil
		},
		Now:    s.opts.Now,
		Logger: s.log,
	})
	if err != nil {
		return nil, err
	}
	apis := s.catalog.Snapshot().APIs()
	list := make([]storage.API, len(apis))
	for i, a := range apis {
		list[i] = *a
	}
	if lifetime := admin.RotationMaxTokenLifetime(list); s.cfg.KeyRotationPeriod*keys.MaxPreviousKeys < lifetime {
		s.log.Warn("key-rotation-period is shorter than the longest token lifetime divided by the previous keys a JWKS may carry: rotations will wait for the oldest previous key to retire",
			"period", s.cfg.KeyRotationPeriod.String(), "max_token_lifetime", lifetime.String(),
			"max_previous_keys", keys.MaxPreviousKeys, "effective_period", (lifetime / keys.MaxPreviousKeys).String())
	}
	return sched, nil
}
